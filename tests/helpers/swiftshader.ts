/**
 * ONNX Runtime's WebGPU provider without a GPU: Dawn on Vulkan on SwiftShader, the CPU Vulkan
 * driver that Debian's chromium package ships. scripts/system-deps.ts installs it for the tests,
 * and the Vulkan loader (libvulkan1) with ffmpeg (libavfilter → libplacebo → libvulkan1). Tests
 * that run models on `webgpu` call `useSwiftShader()` before their first session.
 */
import { existsSync } from 'node:fs';

/** SwiftShader's Vulkan ICD manifest, from the chromium-common package. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Where Debian's libvulkan1 puts the Vulkan loader that Dawn opens. */
const VULKAN_LOADERS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/lib/x86_64-linux-gnu/libvulkan.so.1',
];

/**
 * The environment that points the Vulkan loader at SwiftShader only (VK_DRIVER_FILES) and
 * gives Dawn a runtime folder; throws, saying what to install, when the driver is missing.
 */
export function swiftShaderEnv(exists: (path: string) => boolean = existsSync): {
  VK_DRIVER_FILES: string;
  XDG_RUNTIME_DIR: string;
} {
  if (!exists(SWIFTSHADER_ICD)) {
    throw new Error(
      `SwiftShader's Vulkan driver is missing (${SWIFTSHADER_ICD}): the WebGPU tests run ` +
        "ONNX Runtime's webgpu provider on it. Install Debian's chromium package " +
        '(npm test does: scripts/system-deps.ts --for tests).',
    );
  }
  if (!VULKAN_LOADERS.some((path) => exists(path))) {
    throw new Error(
      'The Vulkan loader (libvulkan.so.1) is missing: Dawn needs it to reach SwiftShader. ' +
        'Install it with: apt-get install -y libvulkan1',
    );
  }
  return {
    VK_DRIVER_FILES: SWIFTSHADER_ICD,
    XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? '/tmp',
  };
}

/** Sets `swiftShaderEnv()` in this process (before ONNX Runtime creates its WebGPU device). */
export function useSwiftShader(): void {
  Object.assign(process.env, swiftShaderEnv());
}
