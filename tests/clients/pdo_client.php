<?php
// PHP PDO pgsql against duckstore. Run by tests/it/clients.rs with DS_HOST, DS_PORT, DS_USER,
// DS_PASSWORD; bucket "in.c-sales" with table "orders" (ids 1-3) exists.
function check(bool $ok, string $what): void {
    if (!$ok) { fwrite(STDERR, "FAILED: $what\n"); exit(1); }
}
$dsn = sprintf("pgsql:host=%s;port=%s;dbname=main", getenv("DS_HOST"), getenv("DS_PORT"));
$pdo = new PDO($dsn, getenv("DS_USER"), getenv("DS_PASSWORD"), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
check(str_starts_with($pdo->getAttribute(PDO::ATTR_SERVER_VERSION), "15."), "server version");

$rows = $pdo->query('SELECT id, name FROM "in.c-sales"."orders" ORDER BY id LIMIT 2')->fetchAll(PDO::FETCH_NUM);
check($rows == [[1, "a"], [2, "b"]], "plain query: " . json_encode($rows));

$st = $pdo->prepare('SELECT id, name, amount, day FROM "in.c-sales"."orders" WHERE id = :id AND day >= :day');
$st->execute(["id" => 1, "day" => "2024-01-01"]);
$row = $st->fetch(PDO::FETCH_ASSOC);
check($row["name"] === "a" && $row["amount"] === "1.50" && $row["day"] === "2024-01-01", "prepared: " . json_encode($row));
$meta = $st->getColumnMeta(2);
check($meta["native_type"] === "numeric", "column meta: " . json_encode($meta));

$st = $pdo->prepare('SELECT id FROM "in.c-sales"."orders" WHERE id = :id AND name = :name AND :flag AND CAST(:nothing AS text) IS NULL');
$st->bindValue(":id", 2, PDO::PARAM_INT);
$st->bindValue(":name", "b", PDO::PARAM_STR);
$st->bindValue(":flag", true, PDO::PARAM_BOOL);
$st->bindValue(":nothing", null, PDO::PARAM_NULL);
$st->execute();
check($st->fetchColumn() === 2, "typed binds");

// errors carry PostgreSQL SQLSTATEs and the connection survives
try {
    $pdo->prepare('SELECT * FROM "in.c-sales"."nope"')->execute();
    check(false, "missing table accepted");
} catch (PDOException $e) {
    check($e->getCode() === "42P01", "SQLSTATE " . $e->getCode());
}
check($pdo->query("SELECT 1")->fetchColumn() === 1, "session after error");

// emulated prepares interpolate on the client
$emu = new PDO($dsn, getenv("DS_USER"), getenv("DS_PASSWORD"),
    [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => true]);
$st = $emu->prepare('SELECT id, name FROM "in.c-sales"."orders" WHERE id = ? AND name <> ?');
$st->execute([3, "o'hara"]);
check($st->fetchAll(PDO::FETCH_NUM) == [[3, "c"]], "emulated prepares");

// writes outside transactions
$n = $pdo->exec('INSERT INTO "in.c-sales"."orders" (id, name) VALUES (20, \'p\')');
check($n === 1, "insert count");
$st = $pdo->prepare('UPDATE "in.c-sales"."orders" SET name = ? WHERE id = ?');
$st->execute(["q", 20]);
check($st->rowCount() === 1, "update count");
check($pdo->exec('DELETE FROM "in.c-sales"."orders" WHERE id = 20') === 1, "delete count");

// COPY both ways, as Keboola's PHP code moves data: pgsqlCopyFromArray / pgsqlCopyToArray
check($pdo->pgsqlCopyFromArray('"in.c-sales"."orders"', ["30\tthirty\t3.25\t2024-03-30", "31\t\\N\t\\N\t\\N"]), "copy from array");
$out = $pdo->pgsqlCopyToArray('"in.c-sales"."orders"');
$mine = array_values(array_filter($out, fn($l) => str_starts_with($l, "3") && strlen(explode("\t", $l)[0]) == 2));
sort($mine);
check($mine == ["30\tthirty\t3.25\t2024-03-30\n", "31\t\\N\t\\N\t\\N\n"], "copy to array: " . json_encode($out));
$csv = tempnam(sys_get_temp_dir(), "pdo");
file_put_contents($csv, "40,forty,4.00,2024-04-04\n");
check($pdo->pgsqlCopyFromFile('"in.c-sales"."orders"', $csv, ","), "copy from file");
check($pdo->query('SELECT name FROM "in.c-sales"."orders" WHERE id = 40')->fetchColumn() === "forty", "copied from file");
try {
    $pdo->pgsqlCopyFromArray('"in.c-sales"."orders"', ["50\tx\tnot-a-number\t\\N"]);
    check(false, "bad copy accepted");
} catch (PDOException $e) {
    check($e->getCode() === "22P02", "bad copy SQLSTATE " . $e->getCode());
}
check($pdo->query('SELECT count(*) FROM "in.c-sales"."orders" WHERE id = 50')->fetchColumn() === 0, "bad copy left nothing");
unlink($csv);

// catalog lookups PDO makes itself
check($pdo->query("SELECT TYPNAME FROM PG_TYPE WHERE OID=1700")->fetchColumn() === "numeric", "pg_type");
check($pdo->query("SELECT RELNAME FROM PG_CLASS WHERE OID=0")->fetchColumn() === false, "pg_class");
echo "pdo ok\n";
