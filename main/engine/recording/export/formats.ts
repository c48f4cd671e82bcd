// The export formats by name: what the command line offers, without loading the exporters.
export const EXPORT_FORMATS = ['json', 'ndjson', 'har', 'pcapng'] as const;
export type ExportFormatName = (typeof EXPORT_FORMATS)[number];
