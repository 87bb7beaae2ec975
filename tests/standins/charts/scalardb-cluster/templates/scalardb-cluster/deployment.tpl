{{- $v := .Values.scalardbCluster }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "scalardb-cluster.fullname" . }}-node
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb-cluster.labels" . | nindent 4 }}
spec:
  replicas: {{ $v.replicaCount }}
  selector:
    matchLabels:
      {{- include "scalardb-cluster.selectorLabels" . | nindent 6 }}
  {{- with $v.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  template:
    metadata:
      annotations:
        {{- /* A change of the properties changes this hash, which rolls the pods. */}}
        checksum/config: {{ include (print $.Template.BasePath "/scalardb-cluster/configmap.tpl") . | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- $selector := include "scalardb-cluster.selectorLabels" . | fromYaml }}
        {{- toYaml (merge $selector ($v.podLabels | default dict)) | nindent 8 }}
    spec:
      restartPolicy: Always
      serviceAccountName: {{ include "scalardb-cluster.serviceAccountName" . }}
      automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
      terminationGracePeriodSeconds: 90
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .Chart.Name }}-node
          image: "{{ $v.image.repository }}:{{ $v.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          ports:
            - containerPort: 60053
            - containerPort: 8080
            - containerPort: 9080
          env:
            - name: SCALAR_DB_CLUSTER_MEMBERSHIP_KUBERNETES_ENDPOINT_NAMESPACE_NAME
              value: {{ .Release.Namespace }}
            - name: SCALAR_DB_CLUSTER_MEMBERSHIP_KUBERNETES_ENDPOINT_NAME
              value: {{ include "scalardb-cluster.fullname" . }}-headless
            - name: SCALAR_DB_CLUSTER_LOG_LEVEL
              value: {{ $v.logLevel | quote }}
          {{- with $v.secretName }}
          envFrom:
            - secretRef:
                name: {{ . | quote }}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: scalardb-cluster-database-properties-volume
              mountPath: /scalardb-cluster/node/scalardb-cluster-node.properties
              subPath: scalardb-cluster-node.properties
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: scalardb-cluster-database-properties-volume
          configMap:
            name: {{ include "scalardb-cluster.fullname" . }}-node-properties
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
