import { OrderLine, orderLineKey } from '../cdc/event';

export interface FoldCounts {
  /** Rows read from the source. */
  rows: number;
  /** Rows identical in every column to an earlier row, dropped. */
  exactDuplicates: number;
  /** Further rows of a key already seen, folded into its line. */
  folded: number;
  /** Order lines left, one per (TransactionNo, ProductNo). */
  lines: number;
}

export function emptyFoldCounts(): FoldCounts {
  return { rows: 0, exactDuplicates: 0, folded: 0, lines: 0 };
}

/**
 * The Kaggle file repeats whole rows and (TransactionNo, ProductNo) pairs. As the original design's
 * silver "removes duplicates": drop exact duplicate rows, then fold the rest into one line per key
 * (Quantity summed, the first row's Price and other columns kept). Rows come grouped by transaction,
 * so memory is one transaction; `counts` is updated as lines are yielded.
 */
export function* foldOrderLines(
  transactions: Iterable<OrderLine[]>,
  counts: FoldCounts,
): Generator<OrderLine> {
  for (const rows of transactions) {
    const seenRows = new Set<string>();
    const byKey = new Map<string, OrderLine>();
    for (const row of rows) {
      counts.rows++;
      const rowText = `${row.TransactionNo}\u0000${row.Date}\u0000${row.ProductNo}\u0000${row.ProductName}\u0000${row.Price}\u0000${row.Quantity}\u0000${row.CustomerNo}\u0000${row.Country}`;
      if (seenRows.has(rowText)) {
        counts.exactDuplicates++;
        continue;
      }
      seenRows.add(rowText);
      const key = orderLineKey(row);
      const line = byKey.get(key);
      if (line) {
        line.Quantity += row.Quantity;
        counts.folded++;
      } else {
        byKey.set(key, { ...row });
      }
    }
    for (const line of byKey.values()) {
      counts.lines++;
      yield line;
    }
  }
}
