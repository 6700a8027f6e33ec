{{/* `vllm`: the custom vLLM deployment behind a small JSON API (rayctl/apps/vllm.py). */}}
{{- define "rayservice.app.vllm.kind" -}}bundled{{- end -}}
{{- define "rayservice.app.vllm.importPath" -}}{{- include "rayservice.app.registryImportPath" . -}}{{- end -}}
{{/* vLLM's GPU engine is the point of this app; CPU only when asked (device or profile). */}}
{{- define "rayservice.app.vllm.wantsGpu" -}}true{{- end -}}

{{- define "rayservice.app.vllm.forCpu" -}}
{{- $app := deepCopy .app -}}
{{- $engine := include "rayservice.withoutGpuOnlyEngineKwargs" . | fromJson -}}
{{- $cap := int64 .settings.maxModelLen -}}
{{- $_ := set $engine "max_model_len" (min (int64 (hasKey $engine "max_model_len" | ternary (index $engine "max_model_len") $cap)) $cap) -}}
{{- $_ = set $app "servedModelName" (default $app.model $app.servedModelName) -}}
{{- $_ = set $app "model" (default .doc.constants.tinyModelPath $app.cpuModel) -}}
{{- $_ = set $app "engineKwargs" $engine -}}
{{- $_ = set .out "app" $app -}}
{{- end -}}

{{- define "rayservice.app.vllm.args" -}}
{{- $app := .app -}}
{{- $engine := deepCopy $app.engineKwargs -}}
{{- if gt (int64 $app.tensorParallelSize) 1 -}}{{- $_ := set $engine "tensor_parallel_size" $app.tensorParallelSize -}}{{- end -}}
{{- $args := dict "model" $app.model "device" .device -}}
{{- if not (kindIs "invalid" $app.servedModelName) -}}{{- $_ := set $args "served_model_name" $app.servedModelName -}}{{- end -}}
{{- if $engine -}}{{- $_ := set $args "engine_kwargs" $engine -}}{{- end -}}
{{- $_ := set $args "max_tokens_limit" $app.maxTokensLimit -}}
{{- $_ = set $args "max_prompt_chars" $app.maxPromptChars -}}
{{- if ne $app.hfTokenEnv .doc.constants.defaultHfTokenEnv.vllm -}}{{- $_ = set $args "hf_token_env" $app.hfTokenEnv -}}{{- end -}}
{{- $_ = set .out "args" $args -}}
{{- end -}}

{{/* The replica (and vLLM's driver) runs in bundle 0; the other tensor-parallel ranks get one GPU bundle each. On
     CPU the engine runs unsharded, but the placement group keeps its shape (CPU bundles, STRICT_PACK). */}}
{{- define "rayservice.app.vllm.implicitDeployments" -}}
{{- $tp := int64 .app.tensorParallelSize -}}
{{- $gpu := eq .device "gpu" -}}
{{- if eq $tp 1 -}}
  {{- $_ := set .out "deployments" (ternary (dict "VLLMDeployment" (dict "ray_actor_options" (dict "num_gpus" 1))) (dict) $gpu) -}}
{{- else -}}
  {{- $bundles := list -}}
  {{- if $gpu -}}
    {{- $bundles = append $bundles (dict "CPU" 1 "GPU" 1) -}}
    {{- range until (int (sub $tp 1)) -}}{{- $bundles = append $bundles (dict "GPU" 1) -}}{{- end -}}
  {{- else -}}
    {{- range until (int $tp) -}}{{- $bundles = append $bundles (dict "CPU" 1) -}}{{- end -}}
  {{- end -}}
  {{- $_ := set .out "deployments" (dict "VLLMDeployment" (dict "placement_group_bundles" $bundles "placement_group_strategy" "STRICT_PACK")) -}}
{{- end -}}
{{- end -}}
