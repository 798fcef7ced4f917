import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CdcEvent, OrderLine, orderLineKey } from '../../lib/cdc/event';
import { validateCdcBody } from '../../lib/cdc/validate';
import { changeStream, emptyChangeStreamCounts } from '../../lib/orders/changeStream';
import { emptyFoldCounts, foldOrderLines } from '../../lib/orders/foldOrderLines';
import { OrderCsvError, readOrderCsvTransactions } from '../../lib/orders/orderCsv';
import { syntheticOrderTransactions } from '../../lib/orders/syntheticOrders';

function lines(seed: number, rows: number): OrderLine[] {
  return [...foldOrderLines(syntheticOrderTransactions({ seed, rows }), emptyFoldCounts())];
}

describe('synthetic orders', () => {
  it('are the same for a seed and differ between seeds', () => {
    expect(lines(7, 5000)).toEqual(lines(7, 5000));
    expect(lines(8, 5000)).not.toEqual(lines(7, 5000));
  });

  it('are shaped like the Kaggle dataset', () => {
    const counts = emptyFoldCounts();
    const all = [...foldOrderLines(syntheticOrderTransactions({ seed: 3 }), counts)];
    expect(counts.rows).toBe(536_350);
    expect(counts.exactDuplicates).toBeGreaterThan(1000);
    expect(counts.folded).toBeGreaterThan(1000);
    expect(counts.lines).toBe(all.length);
    const countries = new Map<string | null, number>();
    for (const line of all) countries.set(line.Country, (countries.get(line.Country) ?? 0) + 1);
    expect(countries.size).toBe(38);
    expect(countries.get('United Kingdom')! / all.length).toBeGreaterThan(0.85);
    const cancellations = all.filter((l) => l.TransactionNo.startsWith('C'));
    expect(cancellations.length / all.length).toBeGreaterThan(0.012);
    expect(cancellations.length / all.length).toBeLessThan(0.025);
    expect(cancellations.every((l) => l.Quantity < 0)).toBe(true);
    expect(all.filter((l) => !l.TransactionNo.startsWith('C')).every((l) => l.Quantity > 0)).toBe(true);
    expect(new Set(all.map((l) => l.ProductNo)).size).toBeGreaterThan(3500);
    expect(new Set(all.map((l) => l.CustomerNo)).size).toBeGreaterThan(4000);
    expect(all.some((l) => l.CustomerNo === null)).toBe(true);
    expect(all.every((l) => Math.round(l.Price * 100) / 100 === l.Price)).toBe(true);
    const dates = all.map((l) => new Date(l.Date + ' UTC').getTime());
    expect(new Date(Math.min(...dates.slice(0, 100))).toISOString().slice(0, 10)).toBe('2018-12-01');
    expect(new Date(Math.max(...dates.slice(-100))).toISOString().slice(0, 7)).toBe('2019-12');
    expect(new Set(all.map(orderLineKey)).size).toBe(all.length);
  });
});

describe('foldOrderLines', () => {
  it('drops exact duplicates, then folds repeated keys summing Quantity and keeping the first Price', () => {
    const base: OrderLine = {
      TransactionNo: '1',
      Date: '12/9/2019',
      ProductNo: 'A',
      ProductName: 'Mug',
      Price: 2.5,
      Quantity: 3,
      CustomerNo: '17490',
      Country: 'EIRE',
    };
    const counts = emptyFoldCounts();
    const folded = [
      ...foldOrderLines(
        [
          [base, { ...base }, { ...base, Quantity: 4, Price: 2.7 }, { ...base, ProductNo: 'B' }],
          [{ ...base, TransactionNo: '2' }],
        ],
        counts,
      ),
    ];
    expect(folded).toEqual([
      { ...base, Quantity: 7 },
      { ...base, ProductNo: 'B' },
      { ...base, TransactionNo: '2' },
    ]);
    expect(counts).toEqual({ rows: 5, exactDuplicates: 1, folded: 1, lines: 3 });
  });
});

describe('changeStream', () => {
  const source = (): OrderLine[] => lines(5, 30_000);

  function stream(options: Parameters<typeof changeStream>[1] = {}) {
    const counts = emptyChangeStreamCounts();
    const events = [...changeStream(source(), { seed: 9, events: 20_000, ...options }, counts)];
    return { events, counts };
  }

  it('is deterministic for a seed', () => {
    expect(stream().events).toEqual(stream().events);
    expect(stream({ seed: 10 }).events).not.toEqual(stream().events);
  });

  it('mixes inserts, updates, deletes, redeliveries and late events in the asked proportions', () => {
    const { events, counts } = stream({ mix: { updates: 0.1, deletes: 0.05, duplicates: 0.02, late: 0.02 } });
    expect(events).toHaveLength(20_000);
    expect(counts.events).toBe(20_000);
    const ops = (op: string): number => events.filter((e) => e.op === op).length;
    expect(ops('u') / events.length).toBeCloseTo(0.1, 1);
    expect(ops('d') / events.length).toBeCloseTo(0.05, 1);
    expect(counts.duplicates / events.length).toBeCloseTo(0.02, 2);
    expect(counts.late).toBeGreaterThan(200);

    const seen = new Map<number, CdcEvent>();
    let redelivered = 0;
    let outOfOrder = 0;
    let maxLsn = 0;
    for (const event of events) {
      const lsn = event.source.lsn;
      if (seen.has(lsn)) {
        redelivered++;
        expect(seen.get(lsn)).toEqual(event);
      } else if (lsn < maxLsn) {
        outOfOrder++;
      }
      seen.set(lsn, event);
      maxLsn = Math.max(maxLsn, lsn);
      expect(validateCdcBody(JSON.stringify(event)).ok).toBe(true);
    }
    expect(redelivered).toBe(counts.duplicates);
    // A late change arrives after higher lsns, unless only other late ones came in between.
    expect(outOfOrder).toBeLessThanOrEqual(counts.late);
    expect(outOfOrder).toBeGreaterThan(counts.late * 0.9);
    // Every lsn from the first to the last was used exactly once by a new change.
    expect(seen.size).toBe(maxLsn);
  });

  it('updates and deletes only lines that were inserted and are still live', () => {
    const { events } = stream({ mix: { late: 0, duplicates: 0, updates: 0.2, deletes: 0.1 } });
    const live = new Map<string, OrderLine>();
    for (const event of events) {
      const key = orderLineKey((event.after ?? event.before)!);
      if (event.op === 'c') {
        expect(live.has(key)).toBe(false);
        live.set(key, event.after!);
      } else {
        expect(live.get(key)).toEqual(event.before);
        if (event.op === 'd') live.delete(key);
        else live.set(key, event.after!);
      }
    }
  });

  it('emits snapshot reads first and ends with the lines when no count is given', () => {
    const few = lines(5, 300);
    const counts = emptyChangeStreamCounts();
    const events = [
      ...changeStream(
        few,
        { snapshotLines: 100, mix: { updates: 0, deletes: 0, duplicates: 0, late: 0 } },
        counts,
      ),
    ];
    expect(events).toHaveLength(few.length);
    expect(events.slice(0, 100).every((e) => e.op === 'r')).toBe(true);
    expect(events.slice(100).every((e) => e.op === 'c')).toBe(true);
    expect(counts).toMatchObject({ snapshots: 100, inserts: few.length - 100 });
  });
});

describe('readOrderCsvTransactions', () => {
  const HEADER = 'TransactionNo,Date,ProductNo,ProductName,Price,Quantity,CustomerNo,Country';
  const ROW = '1,12/9/2019,A,Mug,2.5,1,17490,United Kingdom';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orders-csv-'));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('reads the Kaggle columns, quoted fields and missing customers, grouped by transaction', async () => {
    const file = write(
      'sales.csv',
      '\uFEFFTransactionNo,Date,ProductNo,ProductName,Price,Quantity,CustomerNo,Country\r\n' +
        '581482,12/9/2019,22485,Set Of 2 Wooden Market Crates,21.47,12,17490,United Kingdom\r\n' +
        'C581484,12/9/2019,23843,"Paper Craft , Little Birdie",6.19,-80995,16446,United Kingdom\r\n' +
        '581482,12/9/2019,22596,"Christmas Star Wish List ""Chalkboard""",10.65,36,17490,United Kingdom\r\n' +
        '536365,12/1/2018,85123A,Cream Hanging Heart T-Light Holder,14.61,6,NA,United Kingdom\n',
    );
    const transactions = await readOrderCsvTransactions(file);
    expect(transactions.map((t) => t.map((l) => l.ProductNo))).toEqual([
      ['22485', '22596'],
      ['23843'],
      ['85123A'],
    ]);
    expect(transactions[0][1].ProductName).toBe('Christmas Star Wish List "Chalkboard"');
    expect(transactions[1][0]).toEqual({
      TransactionNo: 'C581484',
      Date: '12/9/2019',
      ProductNo: '23843',
      ProductName: 'Paper Craft , Little Birdie',
      Price: 6.19,
      Quantity: -80995,
      CustomerNo: '16446',
      Country: 'United Kingdom',
    });
    expect(transactions[2][0].CustomerNo).toBeNull();
  });

  it('reads a quoted field with line breaks and doubled quotes, and counts its lines', async () => {
    const text =
      `${HEADER}\r\n` + '2,12/9/2019,B,"Tin\r\n""Retro"", red\nand blue",3.5,2,NA,\r\n' + '\n' + `${ROW}\n`;
    const [[tin], [mug]] = await readOrderCsvTransactions(write('multiline.csv', text));
    expect(tin.ProductName).toBe('Tin\r\n"Retro", red\nand blue');
    expect(tin.Country).toBeNull();
    expect(mug.ProductName).toBe('Mug');
    // The record spans lines 2-4, line 5 is blank, the Mug is line 6: the added record is line 7.
    await expect(readOrderCsvTransactions(write('after.csv', `${text}3,x\n`))).rejects.toThrow(
      /:7: 2 fields/,
    );
  });

  it('names the line of an error past the first read of the file', async () => {
    // Over a megabyte, multi-byte characters and a quoted field on every line: the line must come from
    // the byte offset, counted across reads, not from a character offset or from one read.
    const row = '1,12/9/2019,A,"Crème Brûlée Dish, ""Large""",2.5,1,17490,United Kingdom\n';
    const file = write(
      'long.csv',
      `${HEADER}\n${row.repeat(20_000)}1,12/9/2019,A,Mug "B",2.5,1,2,UK\n${row}`,
    );
    expect(fs.statSync(file).size).toBeGreaterThan(1024 * 1024);
    await expect(readOrderCsvTransactions(file)).rejects.toThrow(/:20002: a quote inside unquoted field 4$/);
  });

  it.each([
    [
      'a row with too few fields',
      'TransactionNo,Date,ProductNo,ProductName,Price,Quantity,CustomerNo,Country\n1,2\n',
      /:2: 2 fields/,
    ],
    [
      'a bad price',
      'TransactionNo,Date,ProductNo,ProductName,Price,Quantity,CustomerNo,Country\n1,12/9/2019,A,B,x,1,2,UK\n',
      /:2: Price "x"/,
    ],
    ['a missing column', 'TransactionNo,Date,ProductNo\n', /:1: header lacks column\(s\) ProductName/],
    [
      'an open quote',
      'TransactionNo,Date,ProductNo,ProductName,Price,Quantity,CustomerNo,Country\n1,"2\n',
      /:2: the file ends inside a quoted field \(field 2,/,
    ],
    [
      'an open quote before more rows',
      `${HEADER}\r\n${ROW}\r\n1,12/9/2019,A,"Mug,2.5,1,2,UK\r\n${ROW}\r\n${ROW}\r\n`,
      /:3: the file ends inside a quoted field \(field 4,/,
    ],
    [
      'a quote inside an unquoted field',
      `${HEADER}\n${ROW}\n1,12/9/2019,A,Mug "B",2.5,1,2,UK\n`,
      /:3: a quote inside unquoted field 4$/,
    ],
    [
      'text after a closing quote (the line its field starts on)',
      `${HEADER}\n${ROW}\n1,12/9/2019,A,"Mug\nB"x,2.5,1,2,UK\n`,
      /:3: text after the closing quote of field 4/,
    ],
  ])('names the line of %s', async (_, text, message) => {
    const file = write('bad.csv', text);
    await expect(readOrderCsvTransactions(file)).rejects.toThrow(OrderCsvError);
    await expect(readOrderCsvTransactions(file)).rejects.toThrow(message);
  });
});
