import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { OperatorApp } from './App';
import { gatewayPath } from './lib/basePath';
import { applyBrand } from './lib/brand';
import { PortalApp } from './portal/PortalApp';

applyBrand();
const root = createRoot(document.getElementById('root')!);
root.render(<StrictMode>{(gatewayPath(window.location.pathname) ?? '').startsWith('/portal') ? <PortalApp /> : <OperatorApp />}</StrictMode>);
