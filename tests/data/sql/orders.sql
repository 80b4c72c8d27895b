-- Test fixture shared by tests/test_sqlite.c and tests/test_postgres.c:
-- plain SQL that both SQLite and PostgreSQL accept.  The tests replace the
-- table name "orders" with a name of their own.
CREATE TABLE orders (
	id integer PRIMARY KEY,
	region text,
	amount double precision,
	qty text,
	paid boolean,
	day timestamp
);
INSERT INTO orders VALUES
	(1, 'north', 12.5, '3', TRUE, '2026-11-22 03:00:01'),
	(2, 'south', 0.1, '7', FALSE, '2026-11-22 04:30:00.25'),
	(3, NULL, NULL, NULL, NULL, NULL),
	(4, 'east', -3, 'abc', TRUE, '2026-11-23 00:00:00'),
	(5, 'tab	and
newline \ back', 1e300, '42', FALSE, '2026-12-01 12:00:00'),
	(6, 'ünïcödé', 7.25, ' 8 ', TRUE, '2027-01-01 00:00:00');
