// The page loads uPlot as a classic script (its IIFE build), which defines this global.
import type uPlotClass from 'uplot';

declare global {
  const uPlot: typeof uPlotClass;
  type uPlot = uPlotClass;
  namespace uPlot {
    type AlignedData = uPlotClass.AlignedData;
  }
}
