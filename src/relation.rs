//! Small in-memory result sets built by the server itself (procedure answers, `duckstore.*`
//! system views, catalog compatibility relations), as Arrow record batches: the same currency
//! as query results from DuckDB, so one encoder serves both.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Bool,
    Int16,
    Int32,
    Int64,
    Float64,
    Text,
    /// Microseconds since the epoch, shown as `timestamptz`.
    Timestamp,
    /// Lists (PostgreSQL arrays: `int2vector`, `oid[]`, `text[]` …).
    Int16List,
    Int64List,
    TextList,
}

impl ColumnType {
    fn arrow(self) -> DataType {
        match self {
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Int16 => DataType::Int16,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            ColumnType::Int16List => DataType::List(Arc::new(Field::new("item", DataType::Int16, true))),
            ColumnType::Int64List => DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
            ColumnType::TextList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Timestamp(i64),
    List(Vec<Value>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a relation row by row.
pub struct RelationBuilder {
    columns: Vec<(String, ColumnType)>,
    values: Vec<Vec<Value>>,
    /// A row of the wrong width: reported by `finish` as the statement's error (a bug in the
    /// server, never a reason to end the session).
    misfit: Option<String>,
}

impl RelationBuilder {
    pub fn new(columns: &[(&str, ColumnType)]) -> Self {
        RelationBuilder {
            columns: columns.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect(),
            values: vec![Vec::new(); columns.len()],
            misfit: None,
        }
    }

    pub fn row(&mut self, row: Vec<Value>) -> &mut Self {
        if row.len() != self.columns.len() {
            self.misfit
                .get_or_insert_with(|| format!("a row of {} values for {} columns", row.len(), self.columns.len()));
            return self;
        }
        for (column, value) in self.values.iter_mut().zip(row) {
            column.push(value);
        }
        self
    }

    /// A row given by column name: every column it does not name is NULL (a relation defined
    /// with all of PostgreSQL's columns fills the ones it knows).
    pub fn named(&mut self, row: Vec<(&str, Value)>) -> &mut Self {
        let mut values: Vec<Value> = vec![Value::Null; self.columns.len()];
        for (name, value) in row {
            match self.columns.iter().position(|(n, _)| n == name) {
                Some(i) => values[i] = value,
                None => {
                    self.misfit.get_or_insert_with(|| format!("a value for \"{name}\", which is no column"));
                    return self;
                }
            }
        }
        self.row(values)
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|(name, ty)| Field::new(name, ty.arrow(), true)).collect::<Vec<_>>(),
        ))
    }

    pub fn finish(self) -> Result<RecordBatch> {
        if let Some(misfit) = self.misfit {
            return Err(Error::internal("building a result", misfit));
        }
        let schema = self.schema();
        let arrays = self
            .columns
            .iter()
            .zip(self.values)
            .map(|((name, ty), values)| build_array(name, *ty, values))
            .collect::<Result<Vec<_>>>()?;
        RecordBatch::try_new(schema, arrays).map_err(|e| Error::internal("building a result", e))
    }
}

fn mismatch(name: &str, ty: ColumnType, v: &Value) -> Error {
    Error::internal("building a result", format!("column {name} of type {ty:?} got {v:?}"))
}

fn build_array(name: &str, ty: ColumnType, values: Vec<Value>) -> Result<ArrayRef> {
    Ok(match ty {
        ColumnType::Bool => {
            let mut b = BooleanBuilder::with_capacity(values.len());
            for v in &values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Bool(x) => b.append_value(*x),
                    other => return Err(mismatch(name, ty, other)),
                }
            }
            Arc::new(b.finish())
        }
        ColumnType::Int16 => {
            let mut b = arrow::array::Int16Builder::with_capacity(values.len());
            for v in &values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Int(x) => b.append_value(i16::try_from(*x).map_err(|_| mismatch(name, ty, v))?),
                    other => return Err(mismatch(name, ty, other)),
                }
            }
            Arc::new(b.finish())
        }
        ColumnType::Int16List | ColumnType::Int64List | ColumnType::TextList => {
            let item = match ty {
                ColumnType::Int16List => ColumnType::Int16,
                ColumnType::Int64List => ColumnType::Int64,
                _ => ColumnType::Text,
            };
            let mut offsets = vec![0i32];
            let mut items = Vec::new();
            let mut validity = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Null => validity.push(false),
                    Value::List(list) => {
                        validity.push(true);
                        items.extend(list);
                    }
                    other => return Err(mismatch(name, ty, &other)),
                }
                offsets.push(items.len() as i32);
            }
            let child = build_array(name, item, items)?;
            let field = Arc::new(Field::new("item", item.arrow(), true));
            Arc::new(
                arrow::array::ListArray::try_new(
                    field,
                    arrow::buffer::OffsetBuffer::new(offsets.into()),
                    child,
                    Some(arrow::buffer::NullBuffer::from(validity)),
                )
                .map_err(|e| Error::internal("building a list column", e))?,
            )
        }
        ColumnType::Int32 => {
            let mut b = Int32Builder::with_capacity(values.len());
            for v in &values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Int(x) => b.append_value(i32::try_from(*x).map_err(|_| mismatch(name, ty, v))?),
                    other => return Err(mismatch(name, ty, other)),
                }
            }
            Arc::new(b.finish())
        }
        ColumnType::Int64 => {
            let mut b = Int64Builder::with_capacity(values.len());
            for v in &values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Int(x) => b.append_value(*x),
                    other => return Err(mismatch(name, ty, other)),
                }
            }
            Arc::new(b.finish())
        }
        ColumnType::Float64 => {
            let mut b = Float64Builder::with_capacity(values.len());
            for v in &values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Float(x) => b.append_value(*x),
                    Value::Int(x) => b.append_value(*x as f64),
                    other => return Err(mismatch(name, ty, other)),
                }
            }
            Arc::new(b.finish())
        }
        ColumnType::Text => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 16);
            for v in &values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Text(x) => b.append_value(x),
                    Value::Int(x) => b.append_value(x.to_string()),
                    Value::Bool(x) => b.append_value(if *x { "true" } else { "false" }),
                    other => return Err(mismatch(name, ty, other)),
                }
            }
            Arc::new(b.finish())
        }
        ColumnType::Timestamp => {
            let mut b = TimestampMicrosecondBuilder::with_capacity(values.len()).with_timezone("+00:00");
            for v in &values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Timestamp(x) => b.append_value(*x),
                    other => return Err(mismatch(name, ty, other)),
                }
            }
            Arc::new(b.finish())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_batch_with_nulls() {
        let mut b = RelationBuilder::new(&[("id", ColumnType::Int64), ("name", ColumnType::Text)]);
        b.row(vec![Value::Int(1), "a".into()]).row(vec![Value::Int(2), Value::Null]);
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(1).null_count(), 1);
    }

    #[test]
    fn a_row_of_the_wrong_width_is_an_error_not_a_panic() {
        let mut b = RelationBuilder::new(&[("id", ColumnType::Int64), ("name", ColumnType::Text)]);
        b.row(vec![Value::Int(1)]);
        assert_eq!(b.finish().unwrap_err().sqlstate(), "XX000");
    }
}
