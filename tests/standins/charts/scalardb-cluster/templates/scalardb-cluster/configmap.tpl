apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "scalardb-cluster.fullname" . }}-node-properties
  namespace: {{ .Release.Namespace }}
data:
  scalardb-cluster-node.properties:
    {{- .Values.scalardbCluster.scalardbClusterNodeProperties | toYaml | nindent 4 }}
