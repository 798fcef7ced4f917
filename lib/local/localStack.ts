import { AppConfig } from '../config';
import { EmulatorSink, EventHubEmulator } from './captureEmulator';
import { FINAL_STATES, LedgerFile } from '../ledger/ledger';
import { LocalHttpApi } from './localHttpApi';
import { LocalPipeline } from './localPipeline';
import { emulatorSettings } from '../host/settings';
import { errorMessage } from '../errorMessage';

/**
 * The whole local loop in this process: the emulated Event Hubs + Capture (fed by the publish API
 * and the replay), the pipeline (watcher, trigger, ledger, orchestration, local Jobs API, backlog
 * timer) and the HTTP endpoints.
 */
export class LocalStack {
  private flushed = false;

  private constructor(
    readonly pipeline: LocalPipeline,
    readonly emulator: EventHubEmulator,
    readonly http: LocalHttpApi,
  ) {}

  static async open(
    config: AppConfig,
    options: { port: number; watchIntervalMs: number; log: (entry: Record<string, unknown>) => void },
  ): Promise<LocalStack> {
    const pipeline = await LocalPipeline.open({
      config,
      log: options.log,
      watchIntervalMs: options.watchIntervalMs,
      backlogIntervalMs: config.BACKLOG_INTERVAL_MINUTES * 60_000,
    });
    const emulator = await EventHubEmulator.open(emulatorSettings(config), pipeline.captureStore, {
      // Delivered at once, as Event Grid would; the watcher is the safety net.
      onFileCaptured: (file) => {
        // Just committed: its creation time is now.
        const created = { path: file.path, bytes: file.bytes, createdAt: new Date() };
        pipeline.watcher.notify(created).catch((error: unknown) => {
          options.log({ event: 'deliveryFailed', path: file.path, error: errorMessage(error) });
        });
      },
    });
    emulator.startTimer();
    const http = await LocalHttpApi.start({
      sink: new EmulatorSink(emulator),
      maxBodyBytes: config.PUBLISH_MAX_BODY_BYTES,
      status: () => pipeline.status(),
      gold: () => pipeline.gold(),
      port: options.port,
    });
    return new LocalStack(pipeline, emulator, http);
  }

  /** Stops taking events and flushes the open Capture windows into files, handed to the trigger. */
  async flush(): Promise<void> {
    if (this.flushed) return;
    this.flushed = true;
    await this.http.close();
    await this.emulator.close();
    await this.pipeline.watcher.scan();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.pipeline.close();
  }

  /** Every file of the capture container, once the ledger has it in a final state. */
  async processed(): Promise<LedgerFile[]> {
    for (;;) {
      const rows: LedgerFile[] = [];
      let unfinished = 0;
      for await (const file of this.pipeline.captureStore.list()) {
        const row = await this.pipeline.ports.ledger.get(file.path);
        if (row && FINAL_STATES.includes(row.state)) rows.push(row);
        else unfinished++;
      }
      if (unfinished === 0) return rows;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
