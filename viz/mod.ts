/**
 * Visual results drawn by the library itself (issue 11): PNG encoding, a
 * built-in bitmap font, Figure-2-style slice overlays (overlap / false
 * positive / false negative with Dice and HD95 in the title strip), surfaces
 * of masks by marching cubes (tetrahedral decomposition), a z-buffer surface
 * renderer, the `report.html` of a run, and a self-contained NiiVue viewer.
 * @module
 */
export { crc32, createRaster, decodePng, encodePng, type Raster } from "./png.ts";
export { ADVANCE, glyph, GLYPH_HEIGHT, GLYPH_WIDTH, hasGlyph, LINE_HEIGHT, textWidth } from "./font.ts";
export { blit, drawText, fillRect, hconcat, pixel, type Rgb, textHeight } from "./draw.ts";
export { OVERLAY_COLOURS, STRIP_BACKGROUND, STRIP_TEXT, type TitleInfo, titleStrip, withTitle } from "./legend.ts";
export {
  type OverlayInput,
  type Plane,
  PLANES,
  renderSlice,
  renderSlices,
  robustWindow,
  type SliceOptions,
  type SliceView,
  structureCentre,
} from "./slices.ts";
export {
  marchingCubes,
  type Mesh,
  type MeshTopology,
  meshTopology,
  smoothMesh,
  surfaceArea,
  surfaceVolume,
} from "./marching_cubes.ts";
export {
  DEFAULT_VIEWS,
  maskSurface,
  renderSurfaceFigure,
  renderSurfaces,
  type SurfaceFigureOptions,
  type SurfaceRenderOptions,
  vertexNormals,
  type View,
} from "./surface_render.ts";
export {
  addToReport,
  renderCase,
  type RenderCaseOptions,
  renderReport,
  type ReportEntry,
  reportHtml,
  type ReportOptions,
  safeName,
  writeReport,
} from "./report.ts";
export { NIIVUE_VERSION, viewerHtml, type ViewerOptions, type ViewerVolumes, writeViewer } from "./viewer.ts";
/** The data types the functions above take (re-exported from the data pipeline). */
export type { Datatype, Mask, Shape3, Spacing3, Volume, VoxelArray } from "../data/mod.ts";
