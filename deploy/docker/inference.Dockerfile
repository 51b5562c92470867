# The worker image (compose service inference): inference/src/main.ts run by Node with tsx on
# ONNX Runtime's CUDA provider, with the CUDA and cuDNN libraries it loads, and ffmpeg.
# Build context: the repository root.
#
#   docker build -f deploy/docker/inference.Dockerfile -t zeus-inference:local .
#
# CUDA_IMAGE must carry the CUDA major version the provider library was built for; the build
# checks that every library it needs is there, and names the missing ones when not.

ARG NODE_IMAGE=node:24.19.0-trixie-slim
ARG CUDA_IMAGE=nvidia/cuda:12.9.1-cudnn-runtime-ubuntu24.04

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY schema/package.json schema/
COPY core/package.json core/
COPY models/package.json models/
COPY inference/package.json inference/
COPY server/package.json server/
COPY client/package.json client/
COPY cli/package.json cli/
# The production dependencies of the worker's workspaces, and tsx, without install scripts
# (none is needed: native parts come prebuilt); onnxruntime-node's is run on its own below.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --include-workspace-root \
      -w @zeus/inference -w @zeus/core -w @zeus/models \
  && npm cache clean --force
# onnxruntime-node's install script downloads the CUDA provider, too large for npm. package.json's
# allowScripts keeps npm from running it on development machines; ONNXRUNTIME_NODE_INSTALL=true
# forces it (onnxruntime-node 1.30 reads a manifest name such as cuda12 as unset). Then only the
# Linux x64 binaries stay, without the TensorRT provider, which Zeus does not use.
WORKDIR /app/node_modules/onnxruntime-node
RUN ONNXRUNTIME_NODE_INSTALL=true node script/install.js \
  && test -f bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
  && rm -rf bin/napi-v6/darwin bin/napi-v6/win32 bin/napi-v6/linux/arm64 \
       bin/napi-v6/linux/x64/libonnxruntime_providers_tensorrt.so

FROM ${CUDA_IMAGE}
# ffmpeg encodes the MP4s; nothing else comes from the distribution.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps /app ./
# Fails the build when the CUDA provider cannot load here (libcuda.so.1 is the driver's, which the
# NVIDIA Container Toolkit mounts when the container starts).
RUN cd node_modules/onnxruntime-node/bin/napi-v6/linux/x64 \
  && missing="$(LD_LIBRARY_PATH=. ldd libonnxruntime_providers_cuda.so | grep 'not found' | grep -v 'libcuda\.so\.1' || true)" \
  && if [ -n "$missing" ]; then \
       echo "The CUDA provider of onnxruntime-node needs libraries this base image lacks:"; \
       echo "$missing"; \
       echo "Build with a CUDA_IMAGE of that CUDA major (ZEUS_CUDA_IMAGE for deploy.ts)."; \
       exit 1; \
     fi
COPY core core
COPY models models
COPY inference inference
# NVENC (ZEUS_VIDEO_ENCODER, docs/configuration.md): Ubuntu's ffmpeg has h264_nvenc, which
# loads the driver's libnvidia-encode.so.1 when it encodes. The NVIDIA Container Toolkit mounts
# that library only for the `video` driver capability, and the CUDA image asks for compute and
# utility alone: without this, `auto` falls back to libx264 on every GPU.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,video
ENV NODE_ENV=production \
    ZEUS_DEVICE=cuda \
    ZEUS_MODELS_DIR=/models \
    ZEUS_GENERATED_DIR=/generated
# Any user can run it: compose may run it as the user owning the host's folders.
USER 10001:10001
# The CUDA image's entrypoint only prints a banner before running the command: run it directly.
ENTRYPOINT []
CMD ["node", "--import", "tsx", "inference/src/main.ts"]
