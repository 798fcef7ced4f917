import { validateCdcBody, Validation } from '../../lib/cdc/validate';
import { line as orderLine } from '../lakehouse/lakehouseFixtures';

const line = orderLine({ Date: '2019-12-09' });

function body(overrides: Record<string, unknown> = {}, after: Record<string, unknown> = {}): string {
  return JSON.stringify({
    op: 'c',
    ts_ms: 1732440000123,
    source: { db: 'shop', table: 'order_lines', lsn: 1234567 },
    before: null,
    after: { ...line, ...after },
    ...overrides,
  });
}

/** Replaces a JSON value's text, to write numbers as text that JSON.stringify would not produce. */
function withText(json: string, from: string, to: string): string {
  expect(json).toContain(from);
  return json.replace(from, to);
}

function rule(result: Validation): string {
  return result.ok ? 'ok' : result.rule;
}

describe('validateCdcBody', () => {
  it('accepts the contract example and normalises it as silver stores it', () => {
    const result = validateCdcBody(body());
    expect(result).toEqual({
      ok: true,
      change: {
        op: 'c',
        lsn: 1234567n,
        transactionNo: '581482',
        productNo: '22485',
        productName: 'Set Of 2 Wooden Market Crates',
        priceCents: 2147n,
        quantity: 12,
        customerNo: '17490',
        country: 'United Kingdom',
        orderDate: '2019-12-09',
        isCancellation: false,
        deleted: false,
      },
    });
  });

  describe('rule json', () => {
    it.each<[string, Uint8Array | string | null]>([
      ['a null body', null],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      ['text that is not JSON', '{"op": "c",'],
      ['a JSON array', '[1, 2]'],
      ['a JSON string', '"c"'],
      ['trailing text', `${body()} x`],
    ])('fails %s', (_, input) => {
      const result = validateCdcBody(input);
      expect(rule(result)).toBe('json');
      expect(result.ok || result.reason.length).toBeTruthy();
    });
    it('passes UTF-8 bytes of an object', () =>
      expect(rule(validateCdcBody(Buffer.from(body())))).toBe('ok'));
  });

  describe('rule op', () => {
    it.each(['x', 'C', '', null, 1])('fails op %p', (op) =>
      expect(rule(validateCdcBody(body({ op })))).toBe('op'),
    );
    it('fails a missing op', () => expect(rule(validateCdcBody('{"source":{"lsn":1}}'))).toBe('op'));
    it.each(['c', 'u', 'r'])('passes op %s', (op) => expect(rule(validateCdcBody(body({ op })))).toBe('ok'));
  });

  describe('rule lsn', () => {
    const lsnText = (text: string): string => withText(body(), '"lsn":1234567', `"lsn":${text}`);
    it.each(['-1', '1.5', '"5"', 'null', '9223372036854775808', '1e19'])('fails lsn %s', (text) =>
      expect(rule(validateCdcBody(lsnText(text)))).toBe('lsn'),
    );
    it('fails a missing source', () =>
      expect(rule(validateCdcBody(body({ source: undefined })))).toBe('lsn'));
    it.each([
      ['0', 0n],
      ['9223372036854775807', 9223372036854775807n],
      ['4294967296', 4294967296n],
      ['12.0', 12n],
      ['1.5e1', 15n],
    ])('passes lsn %s exactly', (text, lsn) => {
      const result = validateCdcBody(lsnText(text));
      expect(result.ok && result.change.lsn).toBe(lsn);
    });
  });

  describe('rule key', () => {
    it.each([
      ['an empty TransactionNo', { TransactionNo: '' }],
      ['a numeric TransactionNo', { TransactionNo: 581482 }],
      ['a missing ProductNo', { ProductNo: undefined }],
      ['an empty ProductNo', { ProductNo: '' }],
    ])('fails %s', (_, after) => expect(rule(validateCdcBody(body({}, after)))).toBe('key'));
    it('fails c without after', () => expect(rule(validateCdcBody(body({ after: null })))).toBe('key'));
    it('fails d without before', () =>
      expect(rule(validateCdcBody(body({ op: 'd', after: null })))).toBe('key'));
    it('takes the key of d from before, needing nothing else', () => {
      const result = validateCdcBody(
        body({ op: 'd', before: { TransactionNo: 'C581484', ProductNo: '23843' }, after: null }),
      );
      expect(result).toEqual({
        ok: true,
        change: {
          op: 'd',
          lsn: 1234567n,
          transactionNo: 'C581484',
          productNo: '23843',
          productName: null,
          priceCents: null,
          quantity: null,
          customerNo: null,
          country: null,
          orderDate: null,
          isCancellation: true,
          deleted: true,
        },
      });
    });
  });

  describe('rule price', () => {
    const priceText = (text: string): string => withText(body(), '"Price":21.47', `"Price":${text}`);
    it.each(['-0.01', '"21.47"', 'null', '100000000', '99999999.995', '1e8'])('fails Price %s', (text) =>
      expect(rule(validateCdcBody(priceText(text)))).toBe('price'),
    );
    it('fails a missing Price', () =>
      expect(rule(validateCdcBody(body({}, { Price: undefined })))).toBe('price'));
    it.each([
      ['0', 0n],
      ['21.475', 2148n],
      ['21.474999999999999999', 2147n],
      ['1.005', 101n],
      ['99999999.994', 9999999999n],
      ['2.1e1', 2100n],
      ['-0', 0n],
    ])('passes Price %s as %d cents (half-up from the text)', (text, cents) => {
      const result = validateCdcBody(priceText(text));
      expect(result.ok && result.change.priceCents).toBe(cents);
    });
  });

  describe('rule quantity', () => {
    const quantityText = (text: string): string => withText(body(), '"Quantity":12', `"Quantity":${text}`);
    it.each(['0', '2.5', '"12"', 'null', '2147483648', '-2147483649'])('fails Quantity %s', (text) =>
      expect(rule(validateCdcBody(quantityText(text)))).toBe('quantity'),
    );
    it.each([
      ['12.0', 12],
      ['-3', -3],
      ['2147483647', 2147483647],
      ['-2147483648', -2147483648],
      ['1.2e1', 12],
    ])('passes Quantity %s', (text, quantity) => {
      const result = validateCdcBody(quantityText(text));
      expect(result.ok && result.change.quantity).toBe(quantity);
    });
  });

  describe('rule date', () => {
    it.each([
      '2019-02-30',
      '2019-13-01',
      '12/32/2019',
      '2/29/2019',
      '2019-2-3',
      '20191209',
      '',
      null,
      20191209,
    ])('fails Date %p', (date) => expect(rule(validateCdcBody(body({}, { Date: date })))).toBe('date'));
    it.each([
      ['2019-12-09', '2019-12-09'],
      ['12/9/2019', '2019-12-09'],
      ['2/29/2020', '2020-02-29'],
      ['02/03/2019', '2019-02-03'],
    ])('passes Date %s as %s', (date, iso) => {
      const result = validateCdcBody(body({}, { Date: date }));
      expect(result.ok && result.change.orderDate).toBe(iso);
    });
  });

  it('checks the rules in order and names only the first that fails', () => {
    expect(rule(validateCdcBody(body({ op: 'x', source: {} }, { Price: -1 })))).toBe('op');
    expect(rule(validateCdcBody(body({ source: {} }, { Price: -1 })))).toBe('lsn');
    expect(rule(validateCdcBody(body({}, { Price: -1, Quantity: 0, Date: 'x' })))).toBe('price');
    expect(rule(validateCdcBody(body({}, { Quantity: 0, Date: 'x' })))).toBe('quantity');
  });

  describe('edge-case decisions', () => {
    it.each([
      [17490, '17490'],
      ['17490', '17490'],
      [null, null],
      [undefined, null],
    ])('CustomerNo %p becomes %p', (customerNo, expected) => {
      const result = validateCdcBody(body({}, { CustomerNo: customerNo }));
      expect(result.ok && result.change.customerNo).toBe(expected);
    });
    it('CustomerNo 17490.0 becomes "17490"', () => {
      const result = validateCdcBody(withText(body(), '"CustomerNo":"17490"', '"CustomerNo":17490.0'));
      expect(result.ok && result.change.customerNo).toBe('17490');
    });
    it.each([null, undefined])('Country %p becomes Unspecified', (country) => {
      const result = validateCdcBody(body({}, { Country: country }));
      expect(result.ok && result.change.country).toBe('Unspecified');
    });
    it('a TransactionNo starting with C is a cancellation', () => {
      const result = validateCdcBody(body({}, { TransactionNo: 'C581482', Quantity: -2 }));
      expect(result.ok && result.change.isCancellation).toBe(true);
    });
  });
});
