// What the Electron preload puts on the page (absent in a browser).
import type { PreloadApi } from '../../shared/contract';

declare global {
  interface Window {
    framescope?: PreloadApi;
  }
}
