{{/*
Literal secrets, judged like rayctl/spec/inline_secrets.py with rayctl/secrets.py's rules (files/defaults.json
constants.secrets, constants.secretMessages): a secret-looking name with a literal value in a free-form map
(ray.env, rayStartParams, runtimeEnv, args, engineKwargs, ...), credentials in a URL or a known token format in any
string, unless allowInlineSecrets lists its path. `rayservice.secrets.check` fails on the first one, worded as
`rayctl render` words it.
*/}}
{{- define "rayservice.secrets.check" -}}
{{- $doc := .doc -}}
{{- $out := dict "found" list -}}
{{- $_ := include "rayservice.secrets.model" (dict "v" .spec "m" $doc.root "label" "" "top" "" "envVars" false "doc" $doc "out" $out) -}}
{{- $allowed := .spec.allowInlineSecrets | default list -}}
{{- $labels := list -}}
{{- range $secret := $out.found -}}{{- $labels = append $labels $secret.label -}}{{- end -}}
{{- range $secret := $out.found -}}
  {{- if not (has $secret.label $allowed) -}}
    {{- fail (printf "%s: %s" $secret.label (include "rayservice.secrets.message" (dict "s" $secret "doc" $doc))) -}}
  {{- end -}}
{{- end -}}
{{- $unused := list -}}
{{- range $entry := $allowed -}}{{- if not (has $entry $labels) -}}{{- $unused = append $unused (printf "'%s'" $entry) -}}{{- end -}}{{- end -}}
{{- if $unused -}}
  {{- fail (printf "allowInlineSecrets: %s names no secret-looking value in this spec; list fields exactly as rayctl's errors name them, or drop the entry" (join ", " $unused)) -}}
{{- end -}}
{{- end -}}

{{- define "rayservice.secrets.message" -}}
{{- $s := .s -}}
{{- $m := .doc.constants.secretMessages -}}
{{- $fix := "" -}}
{{- if or (eq $s.top "gcsFaultTolerance") (contains "redis" (lower $s.name)) -}}
  {{- $fix = $m.redisFix -}}
{{- else if eq $s.what "credentials in a URL" -}}
  {{- $fix = $m.urlFix -}}
{{- else -}}
  {{- $env := ternary $s.name "THE_VAR" (regexMatch "^[A-Z0-9_]*[A-Z0-9][A-Z0-9_]*$" $s.name) -}}
  {{- $fix = replace "{env}" $env $m.envFix -}}
  {{- if not (or (eq $s.top "ray") $s.envVars) -}}{{- $fix = printf "%s%s" $fix $m.appReads -}}{{- end -}}
{{- end -}}
{{- $what := ternary $m.whatName $s.what (eq $s.what "name") -}}
{{- $m.message | replace "{what}" $what | replace "{fix}" $fix | replace "{label}" (printf "'%s'" $s.label) -}}
{{- end -}}

{{- define "rayservice.secrets.child" -}}
{{- /* (label, key) -> the child's label, as rayctl's format_path writes it */ -}}
{{- $label := index . 0 -}}{{- $key := index . 1 -}}
{{- if kindIs "string" $key -}}{{- ternary $key (printf "%s.%s" $label $key) (eq $label "") -}}{{- else -}}{{- printf "%s[%d]" $label (int $key) -}}{{- end -}}
{{- end -}}

{{- define "rayservice.secrets.found" -}}
{{- $_ := set .out "found" (append .out.found (dict "label" .label "what" .what "top" .top "name" .name "envVars" .envVars)) -}}
{{- end -}}

{{- define "rayservice.secrets.model" -}}
{{- $ctx := . -}}
{{- if and (kindIs "map" .v) (not (has .m (list "SecretEnv" "SecretKeyRef"))) -}}
{{- range $field := (index $ctx.doc.models $ctx.m).fields -}}
  {{- $v := index $ctx.v $field.key -}}
  {{- if not (kindIs "invalid" $v) -}}
    {{- $label := include "rayservice.secrets.child" (list $ctx.label $field.key) -}}
    {{- $top := ternary $field.key $ctx.top (eq $ctx.label "") -}}
    {{- $node := $field.t -}}
    {{- $child := dict "v" $v "label" $label "top" $top "name" $field.key "envVars" (or $ctx.envVars (eq $field.key "env_vars")) "doc" $ctx.doc "out" $ctx.out -}}
    {{- $free := or (eq $node.k "smap") (eq $node.k "val") (and (eq $node.k "dict") (ne $node.of.k "model")) -}}
    {{- if and $free (kindIs "map" $v) -}}
      {{- $_ := include "rayservice.secrets.free" $child -}}
    {{- else -}}
      {{- $_ := include "rayservice.secrets.value" (set $child "t" $node) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rayservice.secrets.value" -}}
{{- /* rayctl's _value: models by their fields, lists and maps item by item, strings by their text */ -}}
{{- $ctx := . -}}
{{- $k := .t.k -}}
{{- if eq $k "model" -}}
  {{- $_ := include "rayservice.secrets.model" (dict "v" .v "m" .t.m "label" .label "top" .top "envVars" .envVars "doc" .doc "out" .out) -}}
{{- else if and (eq $k "union") (kindIs "map" .v) -}}
  {{- $m := index $ctx.doc.unions.apps.types (toString (index .v "type")) -}}
  {{- if $m -}}{{- $_ := include "rayservice.secrets.model" (dict "v" .v "m" $m "label" .label "top" .top "envVars" .envVars "doc" .doc "out" .out) -}}{{- end -}}
{{- else if kindIs "slice" .v -}}
  {{- range $i, $item := .v -}}
    {{- $_ := include "rayservice.secrets.value" (dict "v" $item "label" (include "rayservice.secrets.child" (list $ctx.label $i)) "top" $ctx.top "name" (toString $i) "envVars" $ctx.envVars "t" (ternary $ctx.t.of (dict "k" "val") (hasKey $ctx.t "of")) "doc" $ctx.doc "out" $ctx.out) -}}
  {{- end -}}
{{- else if kindIs "map" .v -}}
  {{- range $key, $item := .v -}}
    {{- $_ := include "rayservice.secrets.value" (dict "v" $item "label" (include "rayservice.secrets.child" (list $ctx.label $key)) "top" $ctx.top "name" $key "envVars" (or $ctx.envVars (eq $key "env_vars")) "t" (ternary $ctx.t.of (dict "k" "val") (hasKey $ctx.t "of")) "doc" $ctx.doc "out" $ctx.out) -}}
  {{- end -}}
{{- else if kindIs "string" .v -}}
  {{- $what := include "rayservice.secrets.inText" (list .v $ctx.doc.constants.secrets) -}}
  {{- if $what -}}{{- $_ := include "rayservice.secrets.found" (dict "what" $what "label" .label "top" .top "name" .name "envVars" .envVars "out" .out) -}}{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rayservice.secrets.free" -}}
{{- /* rayctl's _free_form: the keys are the user's names ({name: X, value: V} names V by X) */ -}}
{{- $ctx := . -}}
{{- $rules := .doc.constants.secrets -}}
{{- if kindIs "map" .v -}}
  {{- $envName := "" -}}
  {{- if kindIs "string" (index .v "name") -}}{{- $envName = index .v "name" -}}{{- end -}}
  {{- range $key, $item := $ctx.v -}}
    {{- $named := ternary $envName $key (and (eq $key "value") (hasKey $ctx.v "name") (kindIs "string" (index $ctx.v "name"))) -}}
    {{- $child := dict "v" $item "label" (include "rayservice.secrets.child" (list $ctx.label $key)) "top" $ctx.top "name" $key "envVars" (or $ctx.envVars (eq $key "env_vars")) "doc" $ctx.doc "out" $ctx.out -}}
    {{- $scalar := or (kindIs "string" $item) (kindIs "float64" $item) (kindIs "int" $item) (kindIs "int64" $item) -}}
    {{- if and $scalar (include "rayservice.secrets.name" (list $named $rules)) (include "rayservice.secrets.literal" (list (toString $item) $rules)) -}}
      {{- $_ := include "rayservice.secrets.found" (dict "what" "name" "label" $child.label "top" $child.top "name" $child.name "envVars" $child.envVars "out" $child.out) -}}
    {{- else -}}
      {{- $_ := include "rayservice.secrets.free" $child -}}
    {{- end -}}
  {{- end -}}
{{- else if kindIs "slice" .v -}}
  {{- range $i, $item := .v -}}
    {{- $_ := include "rayservice.secrets.free" (dict "v" $item "label" (include "rayservice.secrets.child" (list $ctx.label $i)) "top" $ctx.top "name" (toString $i) "envVars" $ctx.envVars "doc" $ctx.doc "out" $ctx.out) -}}
  {{- end -}}
{{- else if kindIs "string" .v -}}
  {{- $what := include "rayservice.secrets.inText" (list .v $rules) -}}
  {{- if $what -}}{{- $_ := include "rayservice.secrets.found" (dict "what" $what "label" .label "top" .top "name" .name "envVars" .envVars "out" .out) -}}{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rayservice.secrets.name" -}}
{{- /* secret_name: *TOKEN*, *PASSWORD*, *SECRET*, *_KEY, AWS_* credentials; words split at _ - . and camelCase */ -}}
{{- $name := index . 0 -}}{{- $rules := index . 1 -}}
{{- $words := list -}}
{{- range $w := regexFindAll $rules.words (regexReplaceAll $rules.camelBreak $name "${1}_${2}") -1 -}}{{- $words = append $words (upper $w) -}}{{- end -}}
{{- if and $words (not (has (last $words) $rules.whereWords)) -}}
  {{- $upper := $name | upper | replace "-" "_" | replace "." "_" -}}
  {{- if hasPrefix "AWS_" $upper -}}
    {{- if not (has $upper $rules.awsSettings) -}}1{{- end -}}
  {{- else if and (eq (last $words) "KEY") (gt (len $words) 1) -}}
    1
  {{- else -}}
    {{- $hit := false -}}
    {{- range $w := $words -}}
      {{- if hasPrefix "PASSWORD" $w -}}{{- $hit = true -}}{{- end -}}
      {{- range $s := $rules.secretWords -}}{{- if hasSuffix $s $w -}}{{- $hit = true -}}{{- end -}}{{- end -}}
    {{- end -}}
    {{- if $hit -}}1{{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{- define "rayservice.secrets.literal" -}}
{{- /* literal_value: non-empty, not a $(VAR) reference, not a number or a boolean word */ -}}
{{- $text := trim (index . 0) -}}{{- $rules := index . 1 -}}
{{- if and $text (not (regexMatch $rules.reference $text)) (not (regexMatch $rules.notASecret $text)) -}}1{{- end -}}
{{- end -}}

{{- define "rayservice.secrets.inText" -}}
{{- $text := index . 0 -}}{{- $rules := index . 1 -}}
{{- if regexMatch $rules.urlCredentials $text -}}credentials in a URL{{- else if regexMatch $rules.tokenFormats $text -}}an access token{{- end -}}
{{- end -}}
