{{/* SPDX-License-Identifier: MIT */}}
{{/*
The labels of every object: the kustomization's (app.kubernetes.io/part-of) and Helm's
three (helm.sh/chart, app.kubernetes.io/managed-by, app.kubernetes.io/instance), on the
objects' metadata only, never in selectors or pod templates, as kustomize's labels.
*/}}
{{- define "ferry.labels" -}}
app.kubernetes.io/part-of: ferry
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ferry.namespace" -}}
{{ .Values.namespace.name | default .Release.Namespace }}
{{- end }}

{{- define "ferry.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
