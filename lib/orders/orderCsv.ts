// csv-parse reads the CSV: maintained, streaming, and strict about RFC 4180 quoting.
import fs from 'node:fs';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { OrderLine } from '../cdc/event';

/** The columns of `Sales Transaction v.4a.csv`, in its order. */
export const ORDER_CSV_COLUMNS = [
  'TransactionNo',
  'Date',
  'ProductNo',
  'ProductName',
  'Price',
  'Quantity',
  'CustomerNo',
  'Country',
] as const;

export class OrderCsvError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'OrderCsvError';
  }
}

function countLineFeeds(fields: string[]): number {
  let count = 0;
  for (const field of fields) {
    for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) count++;
  }
  return count;
}

/** The line byte `offset` of `file` is on. Only for errors: it reads the file again up to there. */
async function lineAt(file: string, offset: number): Promise<number> {
  let line = 1;
  if (offset === 0) return line;
  for await (const chunk of fs.createReadStream(file, { end: offset - 1 }) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) line++;
  }
  return line;
}

/** What a csv-parse error means here; `field` counts from 1. */
function csvErrorDetail(err: CsvError, field: number): string {
  switch (err.code) {
    case 'INVALID_OPENING_QUOTE':
      return `a quote inside unquoted field ${field}`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `text after the closing quote of field ${field}, which starts on this line`;
    case 'CSV_QUOTE_NOT_CLOSED':
      return `the file ends inside a quoted field (field ${field}, which opens on this line)`;
    default:
      return err.message;
  }
}

/**
 * RFC 4180 records of `file` (quoted fields, doubled quotes, CRLF or LF line ends, a BOM), streamed,
 * each with the line it starts on; blank lines are skipped.
 */
async function* readCsvRecords(file: string): AsyncGenerator<{ line: number; fields: string[] }> {
  const parser = pipeline(
    fs.createReadStream(file, { highWaterMark: 1024 * 1024 }),
    parse({
      bom: true,
      record_delimiter: ['\r\n', '\n'], // either, even mixed in one file
      relax_column_count: true, // the caller checks against the header, with a clearer message
    }),
    () => {}, // a read error reaches the loop below through the parser
  );
  // Lines are counted here: csv-parse's count takes a CRLF inside a quoted field for two lines.
  let line = 1;
  try {
    for await (const fields of parser as AsyncIterable<string[]>) {
      const start = line;
      line += 1 + countLineFeeds(fields);
      if (!(fields.length === 1 && fields[0] === '')) yield { line: start, fields };
    }
  } catch (err) {
    // csv-parse's `bytes` is its last field boundary, where the failing field starts. Not `line`: when
    // the parser fails, the records it had parsed but this loop had not read yet are dropped.
    if (!(err instanceof CsvError) || typeof err.bytes !== 'number') throw err;
    const field = typeof err.column === 'number' ? err.column + 1 : 1;
    throw new OrderCsvError(file, await lineAt(file, err.bytes), csvErrorDetail(err, field));
  }
}

/**
 * Rows of the Kaggle CSV (`Sales Transaction v.4a.csv`) grouped by TransactionNo, in the order each
 * transaction first appears. Grouping needs the whole file (~536k rows) in memory; the file is
 * that size, so that is fine for the dataset this reads.
 */
export async function readOrderCsvTransactions(file: string): Promise<OrderLine[][]> {
  const groups = new Map<string, OrderLine[]>();
  let header: string[] | undefined;
  for await (const { line, fields } of readCsvRecords(file)) {
    if (!header) {
      header = fields.map((f) => f.trim());
      const missing = ORDER_CSV_COLUMNS.filter((c) => !header!.includes(c));
      if (missing.length > 0)
        throw new OrderCsvError(file, line, `header lacks column(s) ${missing.join(', ')}`);
      continue;
    }
    if (fields.length !== header.length) {
      throw new OrderCsvError(file, line, `${fields.length} fields where the header has ${header.length}`);
    }
    const row = Object.fromEntries(header.map((name, i) => [name, fields[i]]));
    const price = Number(row.Price);
    const quantity = Number(row.Quantity);
    if (row.Price.trim() === '' || !Number.isFinite(price)) {
      throw new OrderCsvError(file, line, `Price "${row.Price}" is not a number`);
    }
    if (!Number.isInteger(quantity))
      throw new OrderCsvError(file, line, `Quantity "${row.Quantity}" is not an integer`);
    const customerNo = row.CustomerNo.trim();
    const orderLine: OrderLine = {
      TransactionNo: row.TransactionNo,
      Date: row.Date,
      ProductNo: row.ProductNo,
      ProductName: row.ProductName,
      Price: price,
      Quantity: quantity,
      // The dataset writes a missing customer as NA or leaves the field empty.
      CustomerNo: customerNo === '' || customerNo === 'NA' ? null : customerNo,
      Country: row.Country === '' ? null : row.Country,
    };
    const group = groups.get(orderLine.TransactionNo);
    if (group) group.push(orderLine);
    else groups.set(orderLine.TransactionNo, [orderLine]);
  }
  if (!header) throw new OrderCsvError(file, 1, 'the file is empty');
  return [...groups.values()];
}
