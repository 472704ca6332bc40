/**
 * The WebGPU execution context: one device, one open command encoder and
 * compute pass that ops append dispatches to, a size-keyed buffer pool, and
 * cached pipelines. Work is submitted only at sync points (a read, `flush()`,
 * or a cap on queued dispatches), because each sync costs ~11 ms on the
 * software adapter (shared/notes/webgpu-llvmpipe.md).
 * @module
 */

/** A storage buffer together with its byte size (pool key). */
export interface GpuBuffer {
  /** The device buffer. */
  readonly buffer: GPUBuffer;
  /** Its size in bytes (a multiple of 16). */
  readonly bytes: number;
}

/** A byte range of a buffer, bound on its own (for work split across bindings). */
export interface BufferRange {
  /** The device buffer. */
  readonly buffer: GPUBuffer;
  /** First byte (a multiple of the adapter's offset alignment). */
  readonly offset: number;
  /** Bytes in the range. */
  readonly size: number;
}

/** What a dispatch binds: a whole pooled buffer or a range of one. */
export type Binding = GpuBuffer | BufferRange;

/** The byte range [offsetBytes, offsetBytes + bytes) of `b` as a binding (size rounded up to 16 bytes). */
export function bindingRange(b: GpuBuffer, offsetBytes: number, bytes: number): BufferRange {
  return { buffer: b.buffer, offset: offsetBytes, size: Math.ceil(bytes / 16) * 16 };
}

/** Dispatches queued before a submit is forced. */
const MAX_QUEUED = 4096;

/** The WebGPU kernels' two families: for software adapters (CPU-like) and for hardware GPUs. */
export type KernelFamily = "register-blocked" | "workgroup-tiled";

/** Owns the device, the lazy queue, the buffer pool and the pipeline cache. */
export class GpuContext {
  /** The device. */
  readonly device: GPUDevice;
  /** Adapter description, used to pick the kernel family. */
  readonly description: string;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #queued = 0;
  #pool = new Map<number, GPUBuffer[]>();
  /** Buffers released while commands that use them are still unsubmitted. */
  #pendingRelease: GpuBuffer[] = [];
  #pipelines = new Map<string, GPUComputePipeline>();
  /** Bytes currently held by live tensors (not counting the pool). */
  liveBytes = 0;
  /** Largest byte range one storage binding may cover (128 MiB on llvmpipe). */
  readonly maxBinding: number;
  /** Required alignment of a binding's byte offset. */
  readonly offsetAlign: number;
  /** Uniform buffers one shader may bind (12 on llvmpipe). */
  readonly maxUniformBuffers: number;
  /**
   * Kernel family for this adapter: "register-blocked" for software adapters,
   * which run shaders on the CPU (llvmpipe, lavapipe, SwiftShader) and reward
   * big register blocks and no workgroup memory; "workgroup-tiled" for
   * hardware GPUs, which reward workgroup tiles. Chosen by rule from the
   * adapter description; tests set it to run both families on one adapter.
   */
  kernelFamily: KernelFamily;
  /**
   * True on Mesa's gallivm adapters (llvmpipe, lavapipe), which stop a shader
   * after about 65,535 loop iterations per invocation (see LOOP_LIMIT).
   */
  readonly loopLimited: boolean;
  /** Name of the op being recorded, used to label shaders in error messages. */
  label = "";
  /** Counters, for benchmarks and tests. */
  readonly stats = { dispatches: 0, submits: 0, syncs: 0, pipelines: 0, bindGroups: 0 };

  /** Validation errors raised by the device since the last sync, reported at the next read. */
  #errors: string[] = [];

  /** Wraps a device and collects its uncaptured errors, so none passes silently. */
  constructor(device: GPUDevice, description: string, fallback = false) {
    this.device = device;
    this.description = description;
    this.kernelFamily = fallback || /llvmpipe|lavapipe|swiftshader|software/i.test(description)
      ? "register-blocked"
      : "workgroup-tiled";
    this.loopLimited = /llvmpipe|lavapipe/i.test(description);
    this.maxBinding = device.limits.maxStorageBufferBindingSize;
    this.offsetAlign = device.limits.minStorageBufferOffsetAlignment;
    this.maxUniformBuffers = device.limits.maxUniformBuffersPerShaderStage;
    device.addEventListener("uncapturederror", (e) => {
      this.#errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
  }

  /** A storage buffer of at least `bytes`, from the pool when one is free. */
  alloc(bytes: number): GpuBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const free = this.#pool.get(size);
    const buffer = free?.pop() ?? this.device.createBuffer({
      size,
      // UNIFORM too: the llvmpipe matmul and conv kernels bind repacked operands as uniform blocks.
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.liveBytes += size;
    return { buffer, bytes: size };
  }

  /** Returns a buffer to the pool once no queued command can still touch it. */
  release(b: GpuBuffer): void {
    this.liveBytes -= b.bytes;
    if (this.#encoder) this.#pendingRelease.push(b);
    else this.#toPool(b);
  }

  #toPool(b: GpuBuffer): void {
    const list = this.#pool.get(b.bytes);
    if (list) list.push(b.buffer);
    else this.#pool.set(b.bytes, [b.buffer]);
  }

  /** A buffer holding `data`, written through the queue. */
  upload(data: ArrayBufferView): GpuBuffer {
    const b = this.alloc(data.byteLength);
    // Pooled buffers may be reused only after the commands that read them were
    // submitted (see release), so a queue write here cannot race them.
    if (data.byteLength) {
      const padded = data.byteLength % 4 ? 4 * Math.ceil(data.byteLength / 4) : data.byteLength;
      const src = padded === data.byteLength ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : (() => {
        const u = new Uint8Array(padded);
        u.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        return u;
      })();
      // Chunks of at most 16 MiB upload more steadily on the software adapter.
      const CHUNK = 16 << 20;
      for (let at = 0; at < padded; at += CHUNK) {
        this.device.queue.writeBuffer(b.buffer, at, src as Uint8Array<ArrayBuffer>, at, Math.min(CHUNK, padded - at));
      }
    }
    return b;
  }

  /** The compute pipeline for `code`, compiled once. */
  pipeline(code: string, label = ""): GPUComputePipeline {
    let p = this.#pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ code, label });
      p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      this.#pipelines.set(code, p);
      this.stats.pipelines++;
    }
    return p;
  }

  /** A small read-only storage buffer of 32-bit words (shapes, strides, scalars). */
  meta(words: ArrayLike<number>, floats: readonly number[] = []): GpuBuffer {
    const n = Math.max(4, words.length + floats.length);
    const b = this.alloc(n * 4);
    const u = new Uint32Array(n);
    for (let i = 0; i < words.length; i++) u[i] = words[i] >>> 0;
    new Float32Array(u.buffer, words.length * 4, floats.length).set(floats);
    this.device.queue.writeBuffer(b.buffer, 0, u);
    return b;
  }

  /**
   * Appends one dispatch of `code` with `buffers` bound to @binding(0…) of
   * group 0, over `invocations` threads of workgroup size `wg`.
   */
  dispatch(code: string, buffers: readonly Binding[], invocations: number, wg = 64): void {
    if (invocations <= 0) return;
    const pipeline = this.pipeline(code, this.label);
    const bindGroup = this.#bindGroup(pipeline, buffers);
    if (!this.#encoder) {
      this.#encoder = this.device.createCommandEncoder();
      this.#pass = this.#encoder.beginComputePass();
    }
    const groups = Math.ceil(invocations / wg);
    const x = Math.min(groups, 65535), y = Math.ceil(groups / 65535);
    this.#pass!.setPipeline(pipeline);
    this.#pass!.setBindGroup(0, bindGroup);
    this.#pass!.dispatchWorkgroups(x, y);
    this.stats.dispatches++;
    if (++this.#queued >= MAX_QUEUED) this.flush();
  }

  /**
   * The bind group of `buffers` for `pipeline`, cached: a training loop asks
   * the pool for buffers in the same order every step, so the same groups
   * recur and createBindGroup (5–27 µs each on llvmpipe) runs once.
   */
  #bindGroup(pipeline: GPUComputePipeline, buffers: readonly Binding[]): GPUBindGroup {
    let key = `${this.#idOf(pipeline)}`;
    for (const b of buffers) {
      key += "offset" in b ? `|${this.#idOf(b.buffer)}@${b.offset}+${b.size}` : `|${this.#idOf(b.buffer)}`;
    }
    let group = this.#groups.get(key);
    if (!group) {
      if (this.#groups.size >= 8192) this.#groups.clear();
      group = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((b, i) => ({
          binding: i,
          resource: "offset" in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b.buffer },
        })),
      });
      this.#groups.set(key, group);
      this.stats.bindGroups++;
    }
    return group;
  }

  #idOf(o: object): number {
    let id = this.#ids.get(o);
    if (id === undefined) this.#ids.set(o, id = this.#nextId++);
    return id;
  }

  #groups = new Map<string, GPUBindGroup>();
  #ids = new WeakMap<object, number>();
  #nextId = 1;

  /** Records a buffer-to-buffer copy (ends the open pass). */
  copy(src: GpuBuffer, dst: GPUBuffer, bytes: number): void {
    if (!this.#encoder) this.#encoder = this.device.createCommandEncoder();
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    this.#encoder.copyBufferToBuffer(src.buffer, 0, dst, 0, bytes);
  }

  /** Submits everything queued. Cheap when nothing is queued. */
  flush(): void {
    if (!this.#encoder) return;
    this.#pass?.end();
    this.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    this.#pass = null;
    this.#queued = 0;
    this.stats.submits++;
    for (const b of this.#pendingRelease) this.#toPool(b);
    this.#pendingRelease = [];
  }

  /** Submits queued work, frees pooled buffers and destroys the device. Idempotent. */
  shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.flush();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    this.#pool.clear();
    this.#groups.clear();
    this.device.destroy();
  }

  #closed = false;

  /** Reads `bytes` of a buffer back to the host (a sync point). */
  async read(src: GpuBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.copy(src, staging, size);
    this.flush();
    this.stats.syncs++;
    await staging.mapAsync(GPUMapMode.READ);
    if (this.#errors.length) {
      const first = this.#errors[0], n = this.#errors.length;
      this.#errors = [];
      staging.destroy();
      throw new Error(`webgpu: ${n} device error(s) before this read; first: ${first.trim()}`);
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }
}
