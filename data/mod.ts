/**
 * The medical-imaging data pipeline on plain typed arrays: NIfTI I/O,
 * segmentation metrics (Dice, HD95, ASSD), post-processing and synthetic
 * brain phantoms (issue 7; paper §4.1–4.3).
 * @module
 */
export {
  allocate,
  checkAffine,
  countNonzero,
  type Datatype,
  datatypeOf,
  diagonalAffine,
  makeVolume,
  type MakeVolumeOptions,
  sameGrid,
  type Shape3,
  type Spacing3,
  spacingFromAffine,
  type Volume,
  type VoxelArray,
  voxelCount,
} from "./volume.ts";
export { dataFingerprint, fileFingerprint } from "./fingerprint.ts";
export {
  DEFAULT_MAX_VOXELS,
  gunzip,
  gzip,
  NAN_POLICIES,
  type NanPolicy,
  readNifti,
  type ReadNiftiOptions,
  writeNifti,
  type WriteNiftiOptions,
} from "./nifti.ts";
export {
  aggregateMetrics,
  assd,
  dice,
  edtSquared,
  hausdorff,
  type HausdorffOptions,
  hd95,
  hdMax,
  type Mask,
  type MetricName,
  type MetricSummary,
  percentile,
  segmentationMetrics,
  type SubjectMetrics,
  surfaceDistances,
  surfaceMask,
} from "./metrics.ts";
export {
  type Components,
  connectedComponents,
  type Connectivity,
  removeSmallComponents,
  type RemoveSmallOptions,
} from "./postprocess.ts";
export { makePhantom, type Phantom, type PhantomOptions, type PhantomTask, TEMPLATE_SHAPE } from "./phantoms.ts";
export {
  makePhantomDataset,
  type PhantomDataset,
  type PhantomDatasetOptions,
  type PhantomSubject,
} from "./phantom_dataset.ts";
export {
  checkLabel,
  type Dataset,
  fewShotSplit,
  type LabelOptions,
  loadDataset,
  type LoadDatasetOptions,
  type LoadedSubject,
  loadSubject,
  parseLabelMap,
  type Split,
  type SplitOptions,
  type Subject,
  writeSplit,
} from "./datasets.ts";
export {
  BRATS_CLASS_LABELS,
  BRATS_MODALITIES,
  BRATS_SPLIT,
  bratsChannel,
  type BratsDataset,
  type BratsModality,
  type BratsOptions,
  type BratsScan,
  bratsSplit,
  type BratsSplitOptions,
  type BratsSubject,
  findBratsScans,
  loadBrats,
  loadBratsChannels,
  loadBratsSubject,
  type LoadedBratsChannels,
  type LoadedBratsSubject,
  looksLikeBrats,
  parseBratsModalities,
  writeBratsSplit,
} from "./brats.ts";
export { type BratsPhantomOptions, makeBratsPhantomDataset } from "./brats_phantoms.ts";
export {
  type AugmentationOptions,
  compose,
  cropOrPad,
  flipVolume,
  randomCrop,
  type RandomCropOptions,
  randomCropStart,
  randomFlip,
  type RandomFlipOptions,
  randomSliceIntensity,
  type Sample,
  type SliceIntensityOptions,
  trainingAugmentation,
  type Transform,
  zScore,
  type ZScoreOptions,
} from "./transforms.ts";
export {
  type BatchShape,
  fromTensorOrder,
  modelPredictor,
  type Predictor,
  slidingWindowInference,
  type SlidingWindowOptions,
  type SlidingWindowResult,
  toTensorOrder,
  windowPositions,
  windowStarts,
} from "./inference.ts";
export {
  checkRoi,
  type CropSamplingOptions,
  foregroundIndices,
  parseRoi,
  type RoiBox,
  roiFromLabels,
  sampleCropStart,
} from "./crop_sampling.ts";
export { roiRegion, roiSlidingWindowInference } from "./roi_inference.ts";
export {
  bsplineField,
  type Deformation,
  type DeformationOptions,
  deformedPositions,
  displacedIndices,
  type Grid,
  gridIndices,
  indexToSource,
  invertAffine,
  MAX_BSPLINE_FRACTION,
  MNI152_1MM,
  randomDeformation,
  resampleToGrid,
  sampleVolume,
} from "./resample.ts";
export {
  AICHA_HIPPOCAMPUS,
  loadRealBrainTemplate,
  makeRealBrainDataset,
  makeRealBrainSubject,
  MissingTemplateError,
  MRICRON_TEMPLATES,
  REAL_BRAIN_FILES,
  type RealBrainDataset,
  type RealBrainDatasetOptions,
  type RealBrainSubject,
  type RealBrainSubjectOptions,
  type RealBrainTask,
  type RealBrainTemplate,
} from "./real_brain.ts";
/** The seeded generator every transform draws from (re-exported for the types above). */
export { Rng } from "../tensor/random.ts";
