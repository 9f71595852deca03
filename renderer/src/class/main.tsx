import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ClassApp } from './ClassApp';
import '../styles.css';

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <ClassApp />
  </StrictMode>,
);
