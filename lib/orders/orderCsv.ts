import fs from 'node:fs';
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

/** RFC 4180 records from a text stream: quoted fields, doubled quotes, CRLF or LF line ends. */
export async function* readCsvRecords(
  chunks: AsyncIterable<string>,
  file: string,
): AsyncGenerator<{ line: number; fields: string[] }> {
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let recordLine = 1;
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      if (quoted) {
        if (ch === '"') {
          quoted = false;
          afterQuote = true;
        } else {
          if (ch === '\n') line++;
          field += ch;
        }
        continue;
      }
      if (ch === '"') {
        if (afterQuote) {
          field += '"';
          quoted = true;
          afterQuote = false;
        } else if (field === '') {
          quoted = true;
        } else {
          throw new OrderCsvError(file, line, 'a quote inside an unquoted field');
        }
      } else if (ch === ',') {
        fields.push(field);
        field = '';
        afterQuote = false;
      } else if (ch === '\r') {
        // Half of a CRLF line end; the LF ends the record.
      } else if (ch === '\n') {
        fields.push(field);
        if (!(fields.length === 1 && fields[0] === '')) yield { line: recordLine, fields };
        fields = [];
        field = '';
        afterQuote = false;
        line++;
        recordLine = line;
      } else {
        if (afterQuote) throw new OrderCsvError(file, line, 'text after a closing quote');
        field += ch;
      }
    }
  }
  if (quoted) throw new OrderCsvError(file, line, 'the file ends inside a quoted field');
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    yield { line: recordLine, fields };
  }
}

/**
 * Rows of the Kaggle CSV (`Sales Transaction v.4a.csv`) grouped by TransactionNo, in the order each
 * transaction first appears. Grouping needs the whole file (~536k rows) in memory; the file is
 * that size, so that is fine for the dataset this reads.
 */
export async function readOrderCsvTransactions(file: string): Promise<OrderLine[][]> {
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1024 * 1024 });
  const groups = new Map<string, OrderLine[]>();
  let header: string[] | undefined;
  for await (const { line, fields } of readCsvRecords(stream, file)) {
    if (!header) {
      header = fields.map((f) => f.replace(/^\uFEFF/, '').trim());
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
