// The parts of `pg` (which ships no types) and `pgvector` (whose types resolve only through
// package exports) that the runtime uses.
declare module "pg" {
  export interface QueryResult<R> {
    rows: R[];
    rowCount: number | null;
  }
  export interface ClientConfig {
    connectionString?: string;
    connectionTimeoutMillis?: number;
    application_name?: string;
  }
  export class Client {
    constructor(config?: ClientConfig);
    connect(): Promise<void>;
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
    on(event: "error", listener: (err: Error) => void): this;
  }
  const pg: { Client: typeof Client };
  export default pg;
}

declare module "pgvector" {
  export function toSql(value: number[]): string;
  export function fromSql(value: string): number[];
}
