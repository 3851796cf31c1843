/**
 * The migrations and `schema.ts` describe the same schema: a fresh database, migrated, has exactly the tables,
 * columns (name, type, nullability, default), primary keys, indexes and foreign keys that `schema.ts` lists, as
 * the database's own catalog reports them.
 */
import { assert, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { Migrations } from "../../src/index.js"
import { columnTypes, type Table, tablesOf } from "../../src/internal/sql/schema.js"
import { clientLayer, type DialectName, testDatabase } from "../support/databases.js"

interface CatalogColumn {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
  readonly autoIncrement: boolean
  readonly default: string | null
}

interface CatalogIndex {
  readonly name: string
  readonly columns: ReadonlyArray<string>
  readonly unique: boolean
}

interface CatalogForeignKey {
  readonly columns: ReadonlyArray<string>
  readonly table: string
  readonly referenced: ReadonlyArray<string>
  readonly onDelete: string
}

interface CatalogTable {
  readonly columns: ReadonlyArray<CatalogColumn>
  readonly primaryKey: ReadonlyArray<string>
  readonly indexes: ReadonlyArray<CatalogIndex>
  readonly foreignKeys: ReadonlyArray<CatalogForeignKey>
}

type Catalog = Record<string, CatalogTable>

const prefix = "steady_queue_"
/** The migrator's own bookkeeping, not part of the schema. */
const migrationsTable = "steady_queue_migrations"

const byName = <A extends { readonly name: string }>(items: ReadonlyArray<A>) =>
  [...items].sort((a, b) => a.name.localeCompare(b.name))
const sortedForeignKeys = (keys: ReadonlyArray<CatalogForeignKey>) =>
  [...keys].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))

/** A default as a plain number or word: no quotes, no casts, booleans as 1 or 0, "no default" as null. */
const normalizeDefault = (value: unknown): string | null => {
  if (value === null || value === undefined) return null
  const s = String(value).replace(/::[a-z ]+$/i, "").replace(/^'(.*)'$/, "$1")
  if (s.toUpperCase() === "NULL") return null
  return s === "true" ? "1" : s === "false" ? "0" : s
}

/** SQLite's type affinity of a declared type (https://www.sqlite.org/datatype3.html, 3.1). */
const affinity = (declared: string) => {
  const t = declared.toUpperCase()
  if (t.includes("INT")) return "integer"
  if (/CHAR|CLOB|TEXT/.test(t)) return "text"
  if (t === "" || t.includes("BLOB")) return "blob"
  if (/REAL|FLOA|DOUB/.test(t)) return "real"
  return "numeric"
}

const groupBy = <A>(rows: ReadonlyArray<A>, key: (a: A) => string) => {
  const groups = new Map<string, Array<A>>()
  for (const row of rows) {
    const k = key(row)
    const group = groups.get(k)
    if (group) group.push(row)
    else groups.set(k, [row])
  }
  return groups
}

const pgCatalog = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tableRows = yield* sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
  const columnRows = yield* sql<{
    table_name: string
    column_name: string
    data_type: string
    character_maximum_length: number | null
    is_nullable: string
    column_default: string | null
  }>`SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
     FROM information_schema.columns WHERE table_schema = current_schema()`
  const indexRows = yield* sql<{
    table_name: string
    index_name: string
    is_unique: boolean
    is_primary: boolean
    column_name: string
    descending: boolean
  }>`SELECT t.relname AS table_name, i.relname AS index_name, ix.indisunique AS is_unique,
            ix.indisprimary AS is_primary, a.attname AS column_name,
            (ix.indoption[(k.ord - 1)::int] & 1) = 1 AS descending
     FROM pg_index ix
     JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_class i ON i.oid = ix.indexrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
     WHERE n.nspname = current_schema()
     ORDER BY t.relname, i.relname, k.ord`
  const keyRows = yield* sql<{
    table_name: string
    referenced_table: string
    columns: string
    referenced_columns: string
    on_delete: string
  }>`SELECT t.relname AS table_name, r.relname AS referenced_table,
            (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
            (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS referenced_columns,
            CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'r' THEN 'RESTRICT' WHEN 'n' THEN 'SET NULL'
                               WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END AS on_delete
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_class r ON r.oid = c.confrelid
     JOIN pg_namespace n ON n.oid = c.connamespace
     WHERE c.contype = 'f' AND n.nspname = current_schema()`
  const columns = groupBy(columnRows, (r) => r.table_name)
  const indexes = groupBy(indexRows, (r) => r.table_name)
  const keys = groupBy(keyRows, (r) => r.table_name)
  const catalog: Catalog = {}
  for (const { table_name: table } of tableRows) {
    const tableIndexes = groupBy(indexes.get(table) ?? [], (r) => r.index_name)
    catalog[table] = {
      columns: (columns.get(table) ?? []).map((c) => {
        const autoIncrement = c.column_default?.startsWith("nextval(") ?? false
        return {
          name: c.column_name,
          type: c.data_type + (c.character_maximum_length === null ? "" : `(${c.character_maximum_length})`),
          nullable: c.is_nullable === "YES",
          autoIncrement,
          default: autoIncrement ? null : normalizeDefault(c.column_default)
        }
      }),
      primaryKey: [...tableIndexes.values()].find((rows) => rows[0].is_primary)?.map((r) => r.column_name) ?? [],
      indexes: [...tableIndexes].filter(([, rows]) => !rows[0].is_primary).map(([name, rows]) => ({
        name,
        columns: rows.map((r) => r.column_name + (r.descending ? " DESC" : "")),
        unique: rows[0].is_unique
      })),
      foreignKeys: (keys.get(table) ?? []).map((k) => ({
        columns: k.columns.split(","),
        table: k.referenced_table,
        referenced: k.referenced_columns.split(","),
        onDelete: k.on_delete
      }))
    }
  }
  return catalog
})

const mysqlCatalog = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tableRows = yield* sql<{ table_name: string }>`
    SELECT TABLE_NAME AS table_name FROM information_schema.tables WHERE TABLE_SCHEMA = DATABASE()`
  const columnRows = yield* sql<{
    table_name: string
    column_name: string
    data_type: string
    length: number | string | null
    is_nullable: string
    column_default: string | null
    extra: string
  }>`SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, DATA_TYPE AS data_type,
            CHARACTER_MAXIMUM_LENGTH AS length, IS_NULLABLE AS is_nullable, COLUMN_DEFAULT AS column_default,
            EXTRA AS extra
     FROM information_schema.columns WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`
  const indexRows = yield* sql<{
    table_name: string
    index_name: string
    non_unique: number | string
    column_name: string
    collation: string | null
  }>`SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name,
            COLLATION AS collation
     FROM information_schema.statistics WHERE TABLE_SCHEMA = DATABASE()
     ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`
  const keyRows = yield* sql<{
    table_name: string
    constraint_name: string
    column_name: string
    referenced_table: string
    referenced_column: string
    on_delete: string
  }>`SELECT k.TABLE_NAME AS table_name, k.CONSTRAINT_NAME AS constraint_name, k.COLUMN_NAME AS column_name,
            k.REFERENCED_TABLE_NAME AS referenced_table, k.REFERENCED_COLUMN_NAME AS referenced_column,
            r.DELETE_RULE AS on_delete
     FROM information_schema.key_column_usage k
     JOIN information_schema.referential_constraints r
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
     WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
     ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`
  const columns = groupBy(columnRows, (r) => r.table_name)
  const indexes = groupBy(indexRows, (r) => r.table_name)
  const keys = groupBy(keyRows, (r) => r.table_name)
  const catalog: Catalog = {}
  for (const { table_name: table } of tableRows) {
    const tableIndexes = groupBy(indexes.get(table) ?? [], (r) => r.index_name)
    catalog[table] = {
      columns: (columns.get(table) ?? []).map((c) => {
        const autoIncrement = c.extra.toLowerCase().includes("auto_increment")
        return {
          name: c.column_name,
          type: c.data_type + (c.data_type === "varchar" ? `(${c.length})` : ""),
          nullable: c.is_nullable === "YES",
          autoIncrement,
          default: normalizeDefault(c.column_default)
        }
      }),
      primaryKey: tableIndexes.get("PRIMARY")?.map((r) => r.column_name) ?? [],
      indexes: [...tableIndexes].filter(([name]) => name !== "PRIMARY").map(([name, rows]) => ({
        name,
        columns: rows.map((r) => r.column_name + (r.collation === "D" ? " DESC" : "")),
        unique: Number(rows[0].non_unique) === 0
      })),
      foreignKeys: [...groupBy(keys.get(table) ?? [], (r) => r.constraint_name).values()].map((rows) => ({
        columns: rows.map((r) => r.column_name),
        table: rows[0].referenced_table,
        referenced: rows.map((r) => r.referenced_column),
        onDelete: rows[0].on_delete
      }))
    }
  }
  return catalog
})

const sqliteCatalog = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tableRows = yield* sql<{ name: string; sql: string }>`
    SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
  const catalog: Catalog = {}
  for (const { name: table, sql: ddl } of tableRows) {
    const columnRows = yield* sql<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>`
      SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(${table}) ORDER BY cid`
    const indexList = yield* sql<{ name: string; unique: number; origin: string }>`
      SELECT name, "unique", origin FROM pragma_index_list(${table})`
    const indexes: Array<CatalogIndex> = []
    for (const index of indexList.filter((i) => i.origin !== "pk")) {
      const keyColumns = yield* sql<{ name: string; desc: number }>`
        SELECT name, "desc" FROM pragma_index_xinfo(${index.name}) WHERE "key" = 1 ORDER BY seqno`
      indexes.push({
        name: index.name,
        columns: keyColumns.map((c) => c.name + (c.desc === 1 ? " DESC" : "")),
        unique: index.unique === 1
      })
    }
    const keyRows = yield* sql<{ id: number; table: string; from: string; to: string; on_delete: string }>`
      SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list(${table}) ORDER BY id, seq`
    const primaryKey = columnRows.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name)
    // An INTEGER PRIMARY KEY is the rowid: never null, whatever `notnull` says.
    const isRowid = (c: { readonly pk: number; readonly type: string }) =>
      c.pk > 0 && primaryKey.length === 1 && c.type.toUpperCase() === "INTEGER"
    catalog[table] = {
      columns: columnRows.map((c) => ({
        name: c.name,
        type: affinity(c.type),
        nullable: c.notnull === 0 && !isRowid(c),
        autoIncrement: isRowid(c) && /\bAUTOINCREMENT\b/i.test(ddl),
        default: normalizeDefault(c.dflt_value)
      })),
      primaryKey,
      indexes,
      foreignKeys: [...groupBy(keyRows, (r) => String(r.id)).values()].map((rows) => ({
        columns: rows.map((r) => r.from),
        table: rows[0].table,
        referenced: rows.map((r) => r.to),
        onDelete: rows[0].on_delete
      }))
    }
  }
  return catalog
})

const catalogs: Record<DialectName, Effect.Effect<Catalog, unknown, SqlClient.SqlClient>> = {
  pg: pgCatalog,
  mysql: mysqlCatalog,
  sqlite: sqliteCatalog
}

const sortTable = (t: CatalogTable): CatalogTable => ({
  columns: byName(t.columns),
  primaryKey: t.primaryKey,
  indexes: byName(t.indexes),
  foreignKeys: sortedForeignKeys(t.foreignKeys)
})

/** `schema.ts`'s table as the dialect's catalog would report it. */
const expected = (dialect: DialectName, table: Table): CatalogTable =>
  sortTable({
    columns: table.columns.map((c) => ({
      name: c.name,
      type: columnTypes[dialect][c.kind],
      nullable: c.nullable,
      autoIncrement: c.kind === "id",
      default: c.default ?? null
    })),
    primaryKey: ["id"],
    indexes: table.indexes,
    foreignKeys: table.foreignKeys.map((k) => ({
      columns: k.columns,
      table: k.references.table,
      referenced: k.references.columns,
      onDelete: k.onDelete
    }))
  })

const freshDatabase = (dialect: DialectName) =>
  Layer.unwrapScoped(Effect.map(testDatabase(dialect), clientLayer))

export const schemaSuite = (dialect: DialectName) =>
  layer(freshDatabase(dialect), { timeout: "60 seconds" })("schema", (it) => {
    it.effect("a freshly migrated database has the tables, columns, keys and indexes of schema.ts", () =>
      Effect.gen(function*() {
        yield* Migrations.runOnClient
        const catalog = yield* catalogs[dialect]
        const actualNames = Object.keys(catalog).filter((n) => n.startsWith(prefix) && n !== migrationsTable).sort()
        const tables = tablesOf(dialect)
        assert.deepStrictEqual(actualNames, Object.keys(tables).sort(), "tables")
        for (const [name, table] of Object.entries(tables)) {
          assert.deepStrictEqual(sortTable(catalog[name]), expected(dialect, table), name)
        }
      }).pipe(Effect.orDie))

    it.effect("the finished-at index holds finished jobs only where the database has partial indexes", () =>
      Effect.gen(function*() {
        yield* Migrations.runOnClient
        const sql = yield* SqlClient.SqlClient
        const definitions: Record<DialectName, Effect.Effect<ReadonlyArray<{ readonly d: unknown }>, unknown>> = {
          pg: sql`SELECT indexdef AS d FROM pg_indexes WHERE indexname = 'ix_sq_jobs_finished_at'`,
          sqlite: sql`SELECT sql AS d FROM sqlite_master WHERE name = 'ix_sq_jobs_finished_at'`,
          mysql: sql`SELECT 'full' AS d FROM information_schema.statistics WHERE table_schema = DATABASE()
                     AND index_name = 'ix_sq_jobs_finished_at'`
        }
        const [row] = yield* definitions[dialect]
        if (dialect === "mysql") assert.strictEqual(row?.d, "full")
        else assert.match(String(row?.d), /WHERE \(?finished_at IS NOT NULL\)?/i)
      }).pipe(Effect.orDie))
  })
