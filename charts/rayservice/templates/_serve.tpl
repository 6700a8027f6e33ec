{{/*
serveConfigV2, ported from rayctl/render/serve_config.py: generic over application types, each type's own
templates (templates/_app_<type>.tpl) build its `args` and implicit deployment options; this only assembles them.

  include "rayservice.serveConfig" (dict "spec" SPEC "profile" PROFILE "doc" DEFAULTS "out" $out)  ->  $out.config
*/}}
{{- define "rayservice.serveConfig" -}}
{{- $serve := .spec.serve -}}
{{- $http := dict "host" "0.0.0.0" "port" $serve.httpPort -}}
{{- if not (kindIs "invalid" $serve.requestTimeoutS) -}}{{- $_ := set $http "request_timeout_s" $serve.requestTimeoutS -}}{{- end -}}
{{- if not (kindIs "invalid" $serve.keepAliveTimeoutS) -}}{{- $_ := set $http "keep_alive_timeout_s" $serve.keepAliveTimeoutS -}}{{- end -}}
{{- $apps := list -}}
{{- range $app := $serve.applications -}}
  {{- $entry := include "rayservice.applicationConfig" (dict "app" $app "profile" $.profile "doc" $.doc) | fromJson -}}
  {{- $apps = append $apps $entry -}}
{{- end -}}
{{- $_ := set .out "config" (dict "proxy_location" $serve.proxyLocation "http_options" $http "applications" $apps) -}}
{{- end -}}

{{/* application_config(app, profile) -> JSON */}}
{{- define "rayservice.applicationConfig" -}}
{{- $app := .app -}}
{{- $call := dict "app" $app "profile" .profile "doc" .doc -}}
{{- $device := include "rayservice.app.device" $call -}}
{{- $_ := set $call "device" $device -}}
{{- $entry := dict "name" $app.name "route_prefix" (default (printf "/%s" $app.name) $app.routePrefix) -}}
{{- $_ = set $entry "import_path" (include (include "rayservice.app.hook" (dict "app" $app "hook" "importPath")) $call) -}}
{{- $out := dict -}}
{{- $_ = include (include "rayservice.app.hook" (dict "app" $app "hook" "args")) (dict "app" $app "device" $device "doc" .doc "out" $out) -}}
{{- if not (kindIs "invalid" $out.args) -}}{{- $_ = set $entry "args" $out.args -}}{{- end -}}
{{- if not (kindIs "invalid" $app.runtimeEnv) -}}{{- $_ = set $entry "runtime_env" $app.runtimeEnv -}}{{- end -}}
{{- /* _deployments: rayctl's implicit options, overridden key by key by what the user wrote */ -}}
{{- $implicit := dict -}}
{{- $_ = include (include "rayservice.app.hook" (dict "app" $app "hook" "implicitDeployments")) (dict "app" $app "device" $device "doc" .doc "out" $implicit) -}}
{{- $implicit = $implicit.deployments -}}
{{- $explicit := dict -}}
{{- range $name, $options := include "rayservice.app.explicitDeployments" $call | fromJson -}}
  {{- $_ := set $explicit $name (include "rayservice.deploymentToServe" (dict "o" $options "cpuOnly" (eq $device "cpu") "doc" $.doc) | fromJson) -}}
{{- end -}}
{{- $deployments := list -}}
{{- range $name := concat (keys $implicit) (keys $explicit) | uniq | sortAlpha -}}
  {{- $options := dict "name" $name -}}
  {{- range $key, $value := (index $implicit $name) -}}{{- $_ := set $options $key $value -}}{{- end -}}
  {{- range $key, $value := (index $explicit $name) -}}{{- $_ := set $options $key $value -}}{{- end -}}
  {{- $deployments = append $deployments $options -}}
{{- end -}}
{{- if $deployments -}}{{- $_ = set $entry "deployments" $deployments -}}{{- end -}}
{{- toJson $entry -}}
{{- end -}}
