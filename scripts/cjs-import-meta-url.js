// Injected into the plugin's CommonJS bundle (npm run build:plugin): import.meta.url there is the
// bundle's own file, as in the ES modules it was built from (engine/i2c-loader.ts finds prebuilds/ by it).
import { pathToFileURL } from 'node:url';
export const importMetaUrl = pathToFileURL(__filename).href;
