{{/* `pipeline`: preprocess, then sentiment and summary in parallel (rayctl/apps/pipeline.py). */}}
{{- define "rayservice.app.pipeline.kind" -}}bundled{{- end -}}
{{- define "rayservice.app.pipeline.importPath" -}}{{- include "rayservice.app.registryImportPath" . -}}{{- end -}}
{{- define "rayservice.app.pipeline.wantsGpu" -}}{{- include "rayservice.app.deploymentsWantGpu" . -}}{{- end -}}
{{- define "rayservice.app.pipeline.forCpu" -}}{{- include "rayservice.app.sameOnCpu" . -}}{{- end -}}
{{- define "rayservice.app.pipeline.implicitDeployments" -}}{{- include "rayservice.app.noImplicitDeployments" . -}}{{- end -}}

{{- define "rayservice.app.pipeline.args" -}}
{{- $app := .app -}}
{{- $args := dict "device" .device "sentiment_model" $app.sentimentModel "summary_model" $app.summaryModel "tokenizer" $app.tokenizer "max_input_tokens" $app.maxInputTokens "min_words_for_summary" $app.minWordsForSummary "summary_sentences" $app.summarySentences -}}
{{- $_ := set .out "args" (include "rayservice.dropNone" $args | fromJson) -}}
{{- end -}}
