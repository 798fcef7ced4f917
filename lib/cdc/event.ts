/** The CDC contract (docs/architecture.md): a Debezium-style envelope around one order line. */

export const CDC_OPS = ['c', 'u', 'd', 'r'] as const;
export type CdcOp = (typeof CDC_OPS)[number];

/** Data-quality rules, in the order they are checked; these identifiers are used everywhere. */
export const DQ_RULES = ['json', 'op', 'lsn', 'key', 'price', 'quantity', 'date'] as const;
export type DqRule = (typeof DQ_RULES)[number];

/** One line of the Kaggle "An Online Shop Business" dataset, as it travels in an event. */
export interface OrderLine {
  TransactionNo: string;
  Date: string;
  ProductNo: string;
  ProductName: string;
  Price: number;
  Quantity: number;
  CustomerNo: string | number | null;
  Country: string | null;
}

export interface CdcEvent {
  op: CdcOp;
  ts_ms: number;
  source: { db: string; table: string; lsn: number };
  before: OrderLine | null;
  after: OrderLine | null;
}

/** A change that passed every rule, with columns normalised as silver stores them. */
export interface OrderChange {
  op: CdcOp;
  lsn: bigint;
  transactionNo: string;
  productNo: string;
  /** Null for deletes, as in a silver tombstone. */
  productName: string | null;
  priceCents: bigint | null;
  quantity: number | null;
  customerNo: string | null;
  country: string | null;
  /** ISO `YYYY-MM-DD`. */
  orderDate: string | null;
  isCancellation: boolean;
  deleted: boolean;
}

export const UNSPECIFIED_COUNTRY = 'Unspecified';

export function isCancellation(transactionNo: string): boolean {
  return transactionNo.startsWith('C');
}

/** The key of an order line; the partition key on Event Hubs is its TransactionNo. */
export function orderLineKey(line: Pick<OrderLine, 'TransactionNo' | 'ProductNo'>): string {
  return `${line.TransactionNo}\u0000${line.ProductNo}`;
}
