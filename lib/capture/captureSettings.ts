import type { CapturePathFormat } from './capturePath';
import type { CaptureCodec } from './schema';

/** An event hub and its Capture configuration: what the Bicep sets in Azure and the emulator obeys. */
export interface CaptureSettings {
  namespace: string;
  eventHub: string;
  partitionCount: number;
  /** Capture's time window; Azure allows 60–900 s, the emulator any whole number of seconds ≥ 1. */
  windowSeconds: number;
  /** Capture's size window; Azure allows 10–500 MB. */
  sizeLimitBytes: number;
  /** Off: a window without events still writes a header-only file, as Capture does. */
  skipEmptyArchives: boolean;
  codec: CaptureCodec;
  pathFormat: CapturePathFormat;
}
