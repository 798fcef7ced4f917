/**
 * Capture blob names. Capture names each file `{format}.avro`, where the format holds every one of
 * the tokens below in any order, with `/` or other separators between them; the default is
 * DEFAULT_CAPTURE_PATH_FORMAT. Source:
 * https://learn.microsoft.com/azure/event-hubs/event-hubs-capture-overview ("Capture file name format").
 */
export const DEFAULT_CAPTURE_PATH_FORMAT =
  '{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}';

const TOKENS = [
  'Namespace',
  'EventHub',
  'PartitionId',
  'Year',
  'Month',
  'Day',
  'Hour',
  'Minute',
  'Second',
] as const;
type Token = (typeof TOKENS)[number];

// Bounded by Event Hubs' own limits (a namespace name has at most 50 characters, a hub's 256, and a
// hub at most 1024 partitions), so a format without separators cannot make matching backtrack
// without end over a long name.
const TOKEN_PATTERN: Record<Token, string> = {
  Namespace: '[^/]{1,50}?',
  EventHub: '[^/]{1,256}?',
  PartitionId: '\\d{1,4}',
  Year: '\\d{4}',
  Month: '\\d{2}',
  Day: '\\d{2}',
  Hour: '\\d{2}',
  Minute: '\\d{2}',
  Second: '\\d{2}',
};

export interface CaptureFileName {
  namespace: string;
  eventHub: string;
  partitionId: string;
  /** The start of the capture window, which names the file (whole seconds, UTC). */
  windowStart: Date;
}

/** Azure's longest blob name; nothing longer can be a Capture file. */
const MAX_BLOB_NAME = 1024;

export class CapturePathError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'CapturePathError';
  }
}

export class CapturePathFormat {
  private readonly pattern: RegExp;
  private readonly order: Token[];

  constructor(readonly format: string = DEFAULT_CAPTURE_PATH_FORMAT) {
    const found = [...format.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const unknown = found.filter((name) => !(TOKENS as readonly string[]).includes(name));
    if (unknown.length > 0)
      throw new CapturePathError(`unknown token {${unknown[0]}} in capture path format`, format);
    const missing = TOKENS.filter((token) => !found.includes(token));
    if (missing.length > 0) {
      throw new CapturePathError(`capture path format lacks {${missing.join('}, {')}}`, format);
    }
    if (new Set(found).size !== found.length)
      throw new CapturePathError('capture path format repeats a token', format);
    this.order = found as Token[];
    const source = format
      .split(/(\{\w+\})/)
      .map((part) => {
        const token = /^\{(\w+)\}$/.exec(part);
        return token ? `(${TOKEN_PATTERN[token[1] as Token]})` : escapeRegExp(part);
      })
      .join('');
    // A location may add a folder in front of the format (a prefix inside the container).
    this.pattern = new RegExp(`^(?:.*/)?${source}\\.avro$`);
  }

  build(name: CaptureFileName): string {
    const t = name.windowStart;
    const values: Record<Token, string> = {
      Namespace: name.namespace,
      EventHub: name.eventHub,
      PartitionId: name.partitionId,
      Year: String(t.getUTCFullYear()).padStart(4, '0'),
      Month: pad2(t.getUTCMonth() + 1),
      Day: pad2(t.getUTCDate()),
      Hour: pad2(t.getUTCHours()),
      Minute: pad2(t.getUTCMinutes()),
      Second: pad2(t.getUTCSeconds()),
    };
    return `${this.format.replace(/\{(\w+)\}/g, (_, token: Token) => values[token])}.avro`;
  }

  parse(path: string): CaptureFileName {
    const match = path.length <= MAX_BLOB_NAME ? this.pattern.exec(path) : null;
    if (!match)
      throw new CapturePathError(`"${path}" does not follow the capture path format ${this.format}`, path);
    const value = (token: Token): string => match[this.order.indexOf(token) + 1];
    const [year, month, day, hour, minute, second] = (
      ['Year', 'Month', 'Day', 'Hour', 'Minute', 'Second'] as const
    ).map((token) => Number(value(token)));
    const windowStart = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    if (
      windowStart.getUTCMonth() !== month - 1 ||
      windowStart.getUTCDate() !== day ||
      hour > 23 ||
      minute > 59 ||
      second > 59
    ) {
      throw new CapturePathError(`"${path}" names no real time`, path);
    }
    return {
      namespace: value('Namespace'),
      eventHub: value('EventHub'),
      partitionId: value('PartitionId'),
      windowStart,
    };
  }

  matches(path: string): boolean {
    return path.length <= MAX_BLOB_NAME && this.pattern.test(path);
  }
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
