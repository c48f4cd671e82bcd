/** What an export wrote, for the CLI's summary and the tests. */
export interface ExportResult {
  connections: number;
  frames: number;
  /** pcapng: packets written */
  packets?: number;
  /** har: message rows written */
  messages?: number;
}
