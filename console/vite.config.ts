/**
 * The console's build: one static bundle in dist/, which every node serves
 * at / on its API's origin. Nothing is loaded from anywhere else (no CDN,
 * no fonts), so the node's Content-Security-Policy can allow 'self' only.
 */
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/',
  // Preact's automatic JSX runtime, through Vite's own transformer (no Babel).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    // The console bundles the workspace packages from their TypeScript sources (the `@healthchain/source` export
    // condition, as vitest and tsx do), so it builds without the release build; their browser-safe entries are what it imports.
    conditions: ['@healthchain/source', 'browser', 'module', 'import', 'default'],
    // csv-parse's Node build makes Buffers when it loads; its browser build (same parser, its own Buffer) is what a page can run.
    alias: [{ find: /^csv-parse\/sync$/, replacement: 'csv-parse/browser/esm/sync' }]
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // No inline module preload polyfill: every script comes from a file, as the CSP demands.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500
  },
  server: {
    // `npm run dev -w @healthchain/console`: the console with live reload against a running node's API.
    proxy: { '/v1': process.env.HEALTHCHAIN_API ?? 'http://127.0.0.1:7000' }
  }
})
