/**
 * The main job: fine-tune a pre-trained UNETR with LoRA-PT on phantom
 * hippocampus scans and report Dice/HD95. The training engine has not landed
 * yet, so for now this says so and exits with status 0.
 * @module
 */
if (import.meta.main) {
  console.log("lorapt demo: not yet — the training engine (issue 8) has not landed.");
  console.log("What works today: tensors, autodiff and gradient checks; see README.md.");
}
