{{/* `classifier`: a `@serve.batch` text classifier (rayctl/apps/classifier.py). */}}
{{- define "rayservice.app.classifier.kind" -}}bundled{{- end -}}
{{- define "rayservice.app.classifier.importPath" -}}{{- include "rayservice.app.registryImportPath" . -}}{{- end -}}
{{- define "rayservice.app.classifier.wantsGpu" -}}{{- include "rayservice.app.deploymentsWantGpu" . -}}{{- end -}}
{{- define "rayservice.app.classifier.forCpu" -}}{{- include "rayservice.app.sameOnCpu" . -}}{{- end -}}

{{- define "rayservice.app.classifier.args" -}}
{{- $app := .app -}}
{{- $args := dict "device" .device "model" $app.model "labels" $app.labels "max_batch_size" $app.maxBatchSize "batch_wait_timeout_s" $app.batchWaitTimeoutS -}}
{{- $_ := set .out "args" (include "rayservice.dropNone" $args | fromJson) -}}
{{- end -}}

{{/* max_ongoing_for_batch: twice the batch size (at least 16), so one batch fills while the previous one runs. */}}
{{- define "rayservice.app.classifier.implicitDeployments" -}}
{{- $batch := int64 .app.maxBatchSize -}}
{{- $options := dict "max_ongoing_requests" (max (mul 2 $batch) 16) "user_config" (dict "max_batch_size" .app.maxBatchSize "batch_wait_timeout_s" .app.batchWaitTimeoutS) -}}
{{- $_ := set .out "deployments" (dict "BatchClassifier" $options) -}}
{{- end -}}
