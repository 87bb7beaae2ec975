{{- $v := .Values.scalardb }}
{{- /* Scalar Admin for Kubernetes finds the admin port through this Service's named port. */}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardb.fullname" . }}-headless
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb.labels" . | nindent 4 }}
  {{- with $v.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $v.service.type }}
  clusterIP: None
  sessionAffinity: None
  ports:
    {{- range $name, $port := $v.service.ports }}
    - name: {{ $name }}
      {{- toYaml $port | nindent 6 }}
    {{- end }}
  selector:
    {{- include "scalardb.selectorLabels" . | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "scalardb.fullname" . }}-metrics
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: scalardb-prometheus
      port: 8080
      targetPort: 8080
      protocol: TCP
  selector:
    {{- include "scalardb.selectorLabels" . | nindent 4 }}
