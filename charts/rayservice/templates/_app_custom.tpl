{{/* `custom`: any Ray Serve application by import path (rayctl/apps/custom.py). */}}
{{- define "rayservice.app.custom.kind" -}}base{{- end -}}
{{- define "rayservice.app.custom.importPath" -}}{{- .app.importPath -}}{{- end -}}
{{- define "rayservice.app.custom.wantsGpu" -}}{{- end -}}
{{- define "rayservice.app.custom.forCpu" -}}{{- include "rayservice.app.sameOnCpu" . -}}{{- end -}}
{{- define "rayservice.app.custom.implicitDeployments" -}}{{- include "rayservice.app.noImplicitDeployments" . -}}{{- end -}}

{{/* serve_args: the user's args, or no `args` key when there are none. */}}
{{- define "rayservice.app.custom.args" -}}
{{- $_ := set .out "args" (ternary .app.args nil (not (empty .app.args))) -}}
{{- end -}}
