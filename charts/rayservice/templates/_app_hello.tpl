{{/* `hello`: a message over HTTP (rayctl/apps/hello.py). */}}
{{- define "rayservice.app.hello.kind" -}}bundled{{- end -}}
{{- define "rayservice.app.hello.importPath" -}}{{- include "rayservice.app.registryImportPath" . -}}{{- end -}}
{{- define "rayservice.app.hello.wantsGpu" -}}{{- include "rayservice.app.deploymentsWantGpu" . -}}{{- end -}}
{{- define "rayservice.app.hello.forCpu" -}}{{- include "rayservice.app.sameOnCpu" . -}}{{- end -}}
{{- define "rayservice.app.hello.implicitDeployments" -}}{{- include "rayservice.app.noImplicitDeployments" . -}}{{- end -}}

{{- define "rayservice.app.hello.args" -}}
{{- $_ := set .out "args" (dict "message" .app.message "device" .device) -}}
{{- end -}}
