import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import path from 'node:path';

export default defineConfig({
  root: path.resolve(import.meta.dirname),
  base: './',
  plugins: [react()],
  build: {
    outDir: path.resolve(import.meta.dirname, '..', 'dist', 'renderer'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    // Two pages: the app, and the class server's page for trainees and the trainer's dashboard.
    rollupOptions: {
      input: {
        main: path.resolve(import.meta.dirname, 'index.html'),
        class: path.resolve(import.meta.dirname, 'class.html'),
      },
    },
  },
});
