// duckdb.mjs - the bench's DuckDB peer: one query, its result to a CSV file.
//
//     node bench/duckdb.mjs MODULES THREADS OUT SQL
//
// MODULES is the node_modules folder holding @duckdb/node-api (bench/run.sh
// installs it into build/bench/node_modules at the version bench/package.json
// pins).  The script opens an in-memory database, runs SET threads = THREADS,
// then COPY (SQL) TO OUT as CSV with a header (SQL orders its rows by the
// group key), and prints one line on stdout: "query_s=<seconds>", the time of
// the SET and the COPY alone.  bench.py times the whole process, as for the
// other peers; the query's own time is printed beside it.  Any failure is a
// message on stderr and exit status 1.
import { createRequire } from "node:module";
import { join } from "node:path";

async function main(argv) {
	if (argv.length !== 4) {
		throw new Error("usage: duckdb.mjs MODULES THREADS OUT SQL");
	}
	const [modules, threads, out, sql] = argv;
	if (!/^[1-9][0-9]*$/.test(threads)) {
		throw new Error(`threads: not a positive integer: ${threads}`);
	}
	// The package lives in the build tree, not beside this script.
	const require = createRequire(join(modules, "bench.cjs"));
	const { DuckDBInstance } = require("@duckdb/node-api");
	const instance = await DuckDBInstance.create(":memory:");
	const conn = await instance.connect();
	const quoted = "'" + out.replaceAll("'", "''") + "'";
	const t0 = process.hrtime.bigint();
	await conn.run(`SET threads = ${threads}`);
	await conn.run(`COPY (${sql}) TO ${quoted} (FORMAT csv, HEADER true)`);
	const t1 = process.hrtime.bigint();
	conn.closeSync();
	instance.closeSync();
	process.stdout.write(`query_s=${(Number(t1 - t0) / 1e9).toFixed(3)}\n`);
}

main(process.argv.slice(2)).catch((e) => {
	process.stderr.write(`duckdb.mjs: ${e.message}\n`);
	process.exit(1);
});
