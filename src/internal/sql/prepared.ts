/**
 * The mark of a statement that PostgreSQL may prepare once per connection (see internal/pgPool.ts): a comment
 * that opens its text. Only statements whose text never varies carry it, so a connection holds a handful.
 */
export const prepared = "/* prepared */"
