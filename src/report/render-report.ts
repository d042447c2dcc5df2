import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { RunReport } from './run-report.js';

export type ReportFormat = 'md' | 'html' | 'json';

/** Render a report in one of the three formats (JSON is the model itself, already redacted). */
export function renderRunReport(report: RunReport, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
  }
}
