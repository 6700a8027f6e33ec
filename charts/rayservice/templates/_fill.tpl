{{/*
The spec with every default filled in, as pydantic would build it (Helm applies no schema defaults and cannot default
list items). Driven by files/defaults.json, generated from the spec models (rayctl/chartdata.py): for each model
its fields in order, each with a value kind, a default or `req`. Kinds:
  model  a mapping of the model's fields (unknown keys cannot reach here: values.schema.json forbids them)
  union  an application: the model named by its `type`
  list / dict   items filled with `of`
  str    a string, whitespace stripped (pydantic's str_strip_whitespace)
  dns    a string that must be a DNS-1123 label (rayctl's DnsLabel)
  qty    a Kubernetes quantity: a number becomes the string Helm's toJson writes ("8", "2.5"), then it is checked
  smap   a map of strings (labels, env): numbers become strings the same way
  val    anything else, kept as it is (numbers, booleans, enums, free-form maps: the schema checked them)
Results come back through a dict (`out`), the usual way to return a value from a define.

Call: include "rayservice.fill" (dict "v" VALUE "t" TYPE "path" "workerGroups[0]" "doc" DEFAULTS "out" OUT)
*/}}
{{- define "rayservice.fill" -}}
{{- $v := .v -}}
{{- $t := .t -}}
{{- $doc := .doc -}}
{{- $path := .path -}}
{{- $kind := $t.k -}}
{{- if kindIs "invalid" $v -}}
  {{- $_ := set .out "v" nil -}}
{{- else if or (eq $kind "model") (eq $kind "union") -}}
  {{- if not (kindIs "map" $v) -}}
    {{- fail (printf "%s: expected a mapping, got %s" (default "the values" $path) (kindOf $v)) -}}
  {{- end -}}
  {{- $model := $t.m -}}
  {{- if eq $kind "union" -}}
    {{- $union := index $doc.unions $t.u -}}
    {{- $model = index $union.types (toString (index $v $union.by)) -}}
    {{- if not $model -}}
      {{- fail (printf "%s.%s: unknown application type %s; known types: %s" $path $union.by (toJson (index $v $union.by)) (keys $union.types | sortAlpha | join ", ")) -}}
    {{- end -}}
  {{- end -}}
  {{- $result := dict -}}
  {{- range $field := (index $doc.models $model).fields -}}
    {{- $key := $field.key -}}
    {{- $where := ternary $key (printf "%s.%s" $path $key) (eq $path "") -}}
    {{- $value := index $v $key -}}
    {{- if kindIs "invalid" $value -}}
      {{- if hasKey $field "d" -}}
        {{- $value = $field.d -}}
      {{- else -}}
        {{- fail (printf "%s: a value is required" $where) -}}
      {{- end -}}
    {{- end -}}
    {{- $out := dict -}}
    {{- $_ := include "rayservice.fill" (dict "v" $value "t" $field.t "path" $where "doc" $doc "out" $out) -}}
    {{- $_ = set $result $key $out.v -}}
  {{- end -}}
  {{- $_ := set .out "v" $result -}}
{{- else if eq $kind "list" -}}
  {{- $items := list -}}
  {{- range $index, $item := $v -}}
    {{- $out := dict -}}
    {{- $_ := include "rayservice.fill" (dict "v" $item "t" $t.of "path" (printf "%s[%d]" $path $index) "doc" $doc "out" $out) -}}
    {{- $items = append $items $out.v -}}
  {{- end -}}
  {{- $_ := set .out "v" $items -}}
{{- else if eq $kind "dict" -}}
  {{- $items := dict -}}
  {{- range $key, $item := $v -}}
    {{- $out := dict -}}
    {{- $_ := include "rayservice.fill" (dict "v" $item "t" $t.of "path" (printf "%s.%s" $path $key) "doc" $doc "out" $out) -}}
    {{- $_ = set $items $key $out.v -}}
  {{- end -}}
  {{- $_ := set .out "v" $items -}}
{{- else if eq $kind "smap" -}}
  {{- $items := dict -}}
  {{- range $key, $item := $v -}}
    {{- $_ := set $items (trim $key) (include "rayservice.asString" $item) -}}
  {{- end -}}
  {{- $_ := set .out "v" $items -}}
{{- else if eq $kind "qty" -}}
  {{- $text := include "rayservice.asString" $v -}}
  {{- if or (not (regexMatch $doc.constants.patterns.quantity $text)) (not (include "rayservice.quantityBounded" $text)) -}}
    {{- fail (printf "%s: '%s' is not a Kubernetes quantity (examples: 4, 500m, 16Gi)" $path $text) -}}
  {{- end -}}
  {{- $_ := set .out "v" $text -}}
{{- else if eq $kind "dns" -}}
  {{- $text := trim (toString $v) -}}
  {{- if or (gt (len $text) 63) (not (regexMatch $doc.constants.patterns.dns1123 $text)) -}}
    {{- fail (printf "%s: '%s' must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters" $path $text) -}}
  {{- end -}}
  {{- $_ := set .out "v" $text -}}
{{- else if and (eq $kind "str") (kindIs "string" $v) -}}
  {{- $_ := set .out "v" (trim $v) -}}
{{- else -}}
  {{- $_ := set .out "v" (deepCopy $v) -}}
{{- end -}}
{{- end -}}

{{/*
A scalar where a string belongs: numbers as Helm's toJson writes them (rayctl writes them the same way: `8.0` and
`8` both become "8", since a values file cannot tell them apart), strings stripped.
*/}}
{{- define "rayservice.asString" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) -}}
{{- toJson . -}}
{{- else -}}
{{- trim (toString .) -}}
{{- end -}}
{{- end -}}

{{/*
rayctl/quantity.py's two bounds beyond the grammar (text matching the pattern): at most 100 characters, and a
decimal exponent within int32 whose result stays below 1e300 (Go would wrap a larger exponent). Prints "true" when
the quantity is within them.
*/}}
{{- define "rayservice.quantityBounded" -}}
{{- $re := "^[+]?([0-9]*)(?:\\.([0-9]*))?(?:[eE]([+-]?)([0-9]+)|([numkMGTPE]))?$" -}}
{{- $ok := le (len .) 100 -}}
{{- if and $ok (regexMatch $re .) -}}
  {{- $int := regexReplaceAll "^0+" (regexReplaceAll $re . "${1}") "" -}}
  {{- $frac := regexReplaceAll $re . "${2}" -}}
  {{- $sign := regexReplaceAll $re . "${3}" -}}
  {{- $expDigits := regexReplaceAll "^0+" (regexReplaceAll $re . "${4}") "" -}}
  {{- $suffix := regexReplaceAll $re . "${5}" -}}
  {{- $decimal := dict "n" -9 "u" -6 "m" -3 "k" 3 "M" 6 "G" 9 "T" 12 "P" 15 "E" 18 -}}
  {{- if or (gt (len $expDigits) 10) (and (eq (len $expDigits) 10) (gt $expDigits "2147483647")) -}}
    {{- $ok = false -}}
  {{- else -}}
    {{- $exp := atoi (default "0" $expDigits) | int64 -}}
    {{- if eq $sign "-" -}}{{- $exp = sub 0 $exp -}}{{- end -}}
    {{- if hasKey $decimal $suffix -}}{{- $exp = index $decimal $suffix | int64 -}}{{- end -}}
    {{- /* Decimal.adjusted(): the power of ten of the leading digit (none when the number is 0) */ -}}
    {{- $fracZeros := len (regexReplaceAll "^(0*).*$" $frac "${1}") -}}
    {{- if $int -}}
      {{- $ok = lt (add (sub (len $int) 1) $exp) 300 -}}
    {{- else if ne $fracZeros (len $frac) -}}
      {{- $ok = lt (add (sub 0 (add $fracZeros 1)) $exp) 300 -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if $ok -}}true{{- end -}}
{{- end -}}
