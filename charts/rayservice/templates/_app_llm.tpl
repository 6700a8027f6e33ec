{{/* `llm`: Ray Serve LLM (vLLM engine) behind an OpenAI-compatible API (rayctl/apps/llm.py). */}}
{{- define "rayservice.app.llm.kind" -}}bundled{{- end -}}
{{- define "rayservice.app.llm.importPath" -}}{{- include "rayservice.app.registryImportPath" . -}}{{- end -}}
{{- define "rayservice.app.llm.implicitDeployments" -}}{{- include "rayservice.app.noImplicitDeployments" . -}}{{- end -}}

{{- define "rayservice.app.llm.wantsGpu" -}}
{{- if gt (float64 .app.bundleGpus) 0.0 -}}true{{- end -}}
{{- end -}}

{{/* for_cpu: a small model (cpuModel, else the tiny Llama of rayctl's CPU image), context capped, no GPU-only
     engine arguments. */}}
{{- define "rayservice.app.llm.forCpu" -}}
{{- $app := deepCopy .app -}}
{{- $source := default .doc.constants.tinyModelPath $app.cpuModel -}}
{{- $_ := set $app "engineKwargs" (include "rayservice.withoutGpuOnlyEngineKwargs" . | fromJson) -}}
{{- $_ = set $app.model "source" $source -}}
{{- $_ = set $app.model "tokenizerSource" $source -}}
{{- $cap := int64 .settings.maxModelLen -}}
{{- $_ = set $app "maxModelLen" (min (int64 (default $cap $app.maxModelLen)) $cap) -}}
{{- $_ = set .out "app" $app -}}
{{- end -}}

{{- define "rayservice.app.llm.args" -}}
{{- $app := .app -}}
{{- $cpu := eq .device "cpu" -}}
{{- $loading := dict "model_id" $app.model.id -}}
{{- if not (kindIs "invalid" $app.model.source) -}}{{- $_ := set $loading "model_source" $app.model.source -}}{{- end -}}
{{- if not (kindIs "invalid" $app.model.tokenizerSource) -}}{{- $_ := set $loading "tokenizer_source" $app.model.tokenizerSource -}}{{- end -}}
{{- $engine := dict "tensor_parallel_size" $app.tensorParallelSize "pipeline_parallel_size" $app.pipelineParallelSize -}}
{{- if not (kindIs "invalid" $app.maxModelLen) -}}{{- $_ := set $engine "max_model_len" $app.maxModelLen -}}{{- end -}}
{{- range $key, $value := $app.engineKwargs -}}{{- $_ := set $engine $key $value -}}{{- end -}}
{{- $config := dict "model_loading_config" $loading -}}
{{- if and (not (kindIs "invalid" $app.acceleratorType)) (not $cpu) -}}{{- $_ := set $config "accelerator_type" $app.acceleratorType -}}{{- end -}}
{{- $_ := set $config "engine_kwargs" $engine -}}
{{- if $cpu -}}
  {{- /* The CPU build runs the engine unsharded, but the placement group keeps its production shape (one CPU
         bundle per tensor/pipeline rank, same strategy), so STRICT_PACK placement is exercised too. */ -}}
  {{- $bundles := list -}}
  {{- range until (int (mul $app.tensorParallelSize $app.pipelineParallelSize)) -}}
    {{- $bundles = append $bundles (dict "CPU" $app.bundleCpus) -}}
  {{- end -}}
  {{- $_ = set $config "placement_group_config" (dict "bundles" $bundles "strategy" $app.placementStrategy) -}}
{{- else -}}
  {{- $bundle := dict "CPU" $app.bundleCpus -}}
  {{- if gt (float64 $app.bundleGpus) 0.0 -}}{{- $_ = set $bundle "GPU" $app.bundleGpus -}}{{- end -}}
  {{- $_ = set $config "placement_group_config" (dict "bundle_per_worker" $bundle "strategy" $app.placementStrategy) -}}
{{- end -}}
{{- $deployment := include "rayservice.deploymentToServe" (dict "o" $app.deployment "cpuOnly" $cpu "doc" .doc) | fromJson -}}
{{- if $deployment -}}{{- $_ = set $config "deployment_config" $deployment -}}{{- end -}}
{{- $args := dict "llm_configs" (list $config) "device" .device -}}
{{- if ne $app.hfTokenEnv .doc.constants.defaultHfTokenEnv.llm -}}{{- $_ = set $args "hf_token_env" $app.hfTokenEnv -}}{{- end -}}
{{- $_ = set .out "args" $args -}}
{{- end -}}

{{/* engineKwargs without the vLLM arguments the CPU build rejects or cannot honour (GPU_ONLY_ENGINE_KWARGS). */}}
{{- define "rayservice.withoutGpuOnlyEngineKwargs" -}}
{{- $kept := dict -}}
{{- range $key, $value := .app.engineKwargs -}}
  {{- if not (has $key $.doc.constants.gpuOnlyEngineKwargs) -}}{{- $_ := set $kept $key $value -}}{{- end -}}
{{- end -}}
{{- toJson $kept -}}
{{- end -}}
