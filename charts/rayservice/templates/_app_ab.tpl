{{/* `ab`: a weighted, sticky A/B router between variants (rayctl/apps/ab.py). */}}
{{- define "rayservice.app.ab.kind" -}}bundled{{- end -}}
{{- define "rayservice.app.ab.importPath" -}}{{- include "rayservice.app.registryImportPath" . -}}{{- end -}}
{{- define "rayservice.app.ab.wantsGpu" -}}{{- include "rayservice.app.deploymentsWantGpu" . -}}{{- end -}}
{{- define "rayservice.app.ab.forCpu" -}}{{- include "rayservice.app.sameOnCpu" . -}}{{- end -}}

{{- define "rayservice.app.ab.args" -}}
{{- $variants := list -}}
{{- range $v := .app.variants -}}
  {{- $variants = append $variants (include "rayservice.dropNone" (dict "name" $v.name "weight" $v.weight "message" $v.message) | fromJson) -}}
{{- end -}}
{{- $_ := set .out "args" (dict "device" .device "variants" $variants "sticky_header" .app.stickyHeader "variant_header" .app.variantHeader) -}}
{{- end -}}

{{/* The weights live in the router's user_config, so a serveConfigV2 edit reweights without a restart. */}}
{{- define "rayservice.app.ab.implicitDeployments" -}}
{{- $weights := dict -}}
{{- range $v := .app.variants -}}{{- $_ := set $weights $v.name $v.weight -}}{{- end -}}
{{- $_ := set .out "deployments" (dict "ABRouter" (dict "user_config" (dict "weights" $weights))) -}}
{{- end -}}
