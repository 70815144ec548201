//! Latency samples and the printed comparison table.

use std::time::Duration;

#[derive(Default)]
pub struct Samples {
    values: Vec<Duration>,
}

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.values.push(d);
    }

    pub fn extend(&mut self, other: Samples) {
        self.values.extend(other.values);
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let mut v = self.values.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[idx]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

#[derive(Default)]
pub struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    pub fn row_latency(&mut self, what: &str, duck: &Samples, base: &Samples, target: &str) {
        self.row_latency_at(what, duck, base, &[50.0, 99.0], target);
    }

    pub fn row_latency_at(&mut self, what: &str, duck: &Samples, base: &Samples, percentiles: &[f64], target: &str) {
        for &p in percentiles {
            let (d, b) = (duck.percentile(p), base.percentile(p));
            self.rows.push([
                format!("{what} p{p:.0}"),
                ms(d),
                ms(b),
                format!("{:.2}×", d.as_secs_f64() / b.as_secs_f64()),
                target.to_owned(),
            ]);
        }
    }

    pub fn row_absolute(&mut self, what: &str, samples: &Samples, target: &str) {
        for p in [50.0, 95.0, 99.0] {
            self.rows.push([
                format!("{what} p{p:.0}"),
                ms(samples.percentile(p)),
                "—".into(),
                "—".into(),
                target.to_owned(),
            ]);
        }
    }

    pub fn row_throughput(&mut self, what: &str, duck: f64, base: f64) {
        self.rows.push([
            what.to_owned(),
            format!("{duck:.0}"),
            format!("{base:.0}"),
            format!("{:.2}×", duck / base),
            String::new(),
        ]);
    }

    pub fn print(&self) {
        println!();
        println!("| benchmark | duckstore | baseline | ratio (duckstore / baseline) | target |");
        println!("|---|---|---|---|---|");
        for r in &self.rows {
            println!("| {} | {} | {} | {} | {} |", r[0], r[1], r[2], r[3], r[4]);
        }
    }
}
