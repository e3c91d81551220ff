import { defineConfig } from 'vite'

// One entry (index.html), built into dist/ and served by the Python server at `/`
// (server/web.py). `npm run dev` proxies the API and the websocket to a local server.
export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: {
      '/sync': { target: 'ws://127.0.0.1:8000', ws: true },
      '/api': 'http://127.0.0.1:8000',
      '/health': 'http://127.0.0.1:8000'
    }
  }
})
