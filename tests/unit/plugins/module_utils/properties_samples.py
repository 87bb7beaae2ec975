"""Real-world and hand-made Java properties texts shared by the java_properties tests.

Kept as Python strings (not files) so CRLF endings and missing final newlines survive editors,
git and ansible-test's line-ending check.
"""
from __future__ import annotations

# ScalarDB's own database.properties style: long comment blocks, commented-out defaults.
SCALARDB_DATABASE = """\
# Comma-separated contact points. For DynamoDB, the region is specified by this parameter.
scalar.db.contact_points=localhost

# Port number for all the contact points. Default port number for each database is used if empty.
#scalar.db.contact_port=

# Credential information to access the database. For Cosmos DB, username isn't used.
scalar.db.username=cassandra
scalar.db.password=cassandra

# Storage implementation. "cassandra" or "cosmos" or "dynamo" or "jdbc" can be set.
scalar.db.storage=cassandra

# The type of the transaction manager. "consensus-commit" or "jdbc" can be set.
scalar.db.transaction_manager=consensus-commit

# Isolation level used for ConsensusCommit. Either SNAPSHOT or SERIALIZABLE can be specified.
scalar.db.consensus_commit.isolation_level=SNAPSHOT
"""

# scalardb chart values (scalardb.databaseProperties) on DynamoDB, credentials from the Secret.
SCALARDB_DYNAMO = """\
scalar.db.storage=dynamo
scalar.db.contact_points=ap-northeast-1
scalar.db.username=${env:SCALAR_DB_USERNAME}
scalar.db.password=${env:SCALAR_DB_PASSWORD}
scalar.db.dynamo.endpoint_override=https://dynamodb.ap-northeast-1.amazonaws.com
scalar.db.dynamo.namespace.prefix=prod_
"""

# scalardl chart values (ledger.ledgerProperties) on PostgreSQL with an Auditor.
SCALARDL_LEDGER = """\
scalar.db.contact_points=jdbc:postgresql://postgresql-ledger.default.svc.cluster.local:5432/postgres
scalar.db.username=${env:SCALAR_DB_USERNAME}
scalar.db.password=${env:SCALAR_DB_PASSWORD}
scalar.db.storage=jdbc
scalar.dl.ledger.proof.enabled=true
scalar.dl.ledger.auditor.enabled=true
scalar.dl.ledger.proof.private_key_path=/keys/ledger-key-file
"""

# scalardb-cluster chart values: placeholders with defaults and a MySQL URL full of ':' and '='.
SCALARDB_CLUSTER = """\
scalar.db.cluster.membership.type=KUBERNETES
scalar.db.cluster.membership.kubernetes.endpoint.namespace_name=${env:SCALAR_DB_CLUSTER_MEMBERSHIP_KUBERNETES_ENDPOINT_NAMESPACE_NAME}
scalar.db.cluster.membership.kubernetes.endpoint.name=${env:SCALAR_DB_CLUSTER_MEMBERSHIP_KUBERNETES_ENDPOINT_NAME}
scalar.db.contact_points=jdbc:mysql://mysql-scalardb-cluster.default.svc.cluster.local:3306/?useSSL=false&allowPublicKeyRetrieval=true
scalar.db.username=${env:SCALAR_DB_USERNAME:-root}
scalar.db.password=${env:SCALAR_DB_PASSWORD}
scalar.db.transaction_manager=consensus-commit
scalar.db.sql.enabled=true
"""

# Hand-written: every separator and escape Java accepts, continuations, duplicates, unicode.
JAVA_SYNTAX = """\
! Written by hand: every separator style Java accepts
sep1=value1
sep2 = value two
sep3:value3
sep4 : value4
sep5 value5
sep6\t\tvalue6
   indented.name = indented value
escaped\\=name=has an equals sign
escaped\\:colon:has a colon
escaped\\ space\\ name = has spaces
empty.value=
no.separator
contact.list = host1,\\
               host2,\\
               host3
not.continued = ends with two backslashes\\\\
next.name = after
unicode.escaped = caf\\u00e9 \\uD83D\\uDE00
unicode.raw = café 😀
url = jdbc:mysql://h:3306/db?useSSL=false&a=b
# a comment line ending with a backslash does not continue \\
comment.not.continued = yes
dup = first
dup = second
"""

JAVA_SYNTAX_DICT = {
    "sep1": "value1",
    "sep2": "value two",
    "sep3": "value3",
    "sep4": "value4",
    "sep5": "value5",
    "sep6": "value6",
    "indented.name": "indented value",
    "escaped=name": "has an equals sign",
    "escaped:colon": "has a colon",
    "escaped space name": "has spaces",
    "empty.value": "",
    "no.separator": "",
    "contact.list": "host1,host2,host3",
    "not.continued": "ends with two backslashes\\",
    "next.name": "after",
    "unicode.escaped": "café 😀",
    "unicode.raw": "café 😀",
    "url": "jdbc:mysql://h:3306/db?useSSL=false&a=b",
    "comment.not.continued": "yes",
    "dup": "second",
}

SAMPLES = {
    "scalardb_database": SCALARDB_DATABASE,
    "scalardb_dynamo": SCALARDB_DYNAMO,
    "scalardl_ledger": SCALARDL_LEDGER,
    "scalardb_cluster": SCALARDB_CLUSTER,
    "java_syntax": JAVA_SYNTAX,
    "java_syntax_crlf": JAVA_SYNTAX.replace("\n", "\r\n"),
    "java_syntax_cr": JAVA_SYNTAX.replace("\n", "\r"),
    "ledger_crlf": SCALARDL_LEDGER.replace("\n", "\r\n"),
    "dynamo_no_final_newline": SCALARDB_DYNAMO.rstrip("\n"),
    "continued_at_end": "a=1\nb = dangling\\",
    "empty": "",
    "only_comments": "# nothing\n\n! here\n",
}

# Edits every sample goes through in the round-trip tests: what a restore does to the properties.
RESTORE_EDIT = {
    "scalar.db.contact_points": "jdbc:mysql://restored.example:3306/?useSSL=false&a=b",
    "scalar.db.dynamo.namespace.prefix": "restored_",
    "scalar.db.username": "${env:SCALAR_DB_USERNAME}",
    "contact.list": "one line now",
    "dup": "third",
    "new.value": "  leading spaces, tab\t, newline\n, backslash \\, é 😀, =:#!",
}
