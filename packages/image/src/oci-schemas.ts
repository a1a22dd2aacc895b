/*
 * The OCI image-spec JSON schemas (draft-04), embedded so the package needs no files at run time.
 * Copied unchanged from opencontainers/image-spec (schema/*.json, last changed in commit
 * 02ba6e2143771aaefdb542c2222f40db48ef3a0b), Copyright The Linux Foundation and OCI contributors,
 * licensed under the Apache License, Version 2.0 (see ../schema/LICENSE.image-spec).
 * test/oci-schema-validation.test.ts checks that they still equal the upstream files.
 */

/** Schema documents by upstream file name. */
export const ociSchemaFiles: Readonly<Record<string, object>> = {
  'defs.json': {
    "description": "Definitions used throughout the OpenContainer Specification",
    "definitions": {
      "int8": {
        "type": "integer",
        "minimum": -128,
        "maximum": 127
      },
      "int16": {
        "type": "integer",
        "minimum": -32768,
        "maximum": 32767
      },
      "int32": {
        "type": "integer",
        "minimum": -2147483648,
        "maximum": 2147483647
      },
      "int64": {
        "type": "integer",
        "minimum": -9223372036854776000,
        "maximum": 9223372036854776000
      },
      "uint8": {
        "type": "integer",
        "minimum": 0,
        "maximum": 255
      },
      "uint16": {
        "type": "integer",
        "minimum": 0,
        "maximum": 65535
      },
      "uint32": {
        "type": "integer",
        "minimum": 0,
        "maximum": 4294967295
      },
      "uint64": {
        "type": "integer",
        "minimum": 0,
        "maximum": 18446744073709552000
      },
      "uint16Pointer": {
        "oneOf": [
          {
            "$ref": "#/definitions/uint16"
          },
          {
            "type": "null"
          }
        ]
      },
      "uint64Pointer": {
        "oneOf": [
          {
            "$ref": "#/definitions/uint64"
          },
          {
            "type": "null"
          }
        ]
      },
      "base64": {
        "type": "string",
        "media": {
          "binaryEncoding": "base64"
        }
      },
      "stringPointer": {
        "oneOf": [
          {
            "type": "string"
          },
          {
            "type": "null"
          }
        ]
      },
      "mapStringString": {
        "type": "object",
        "patternProperties": {
          ".{1,}": {
            "type": "string"
          }
        }
      },
      "mapStringObject": {
        "type": "object",
        "patternProperties": {
          ".{1,}": {
            "type": "object"
          }
        }
      }
    }
  },
  'defs-descriptor.json': {
    "description": "Definitions particular to OpenContainer Descriptor Specification",
    "$schema": "http://json-schema.org/draft-04/schema#",
    "definitions": {
      "mediaType": {
        "id": "https://opencontainers.org/schema/image/descriptor/mediaType",
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
      },
      "size": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9223372036854776000
      },
      "digest": {
        "description": "the cryptographic checksum digest of the object, in the pattern '<algorithm>:<encoded>'",
        "type": "string",
        "pattern": "^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
      },
      "urls": {
        "description": "a list of urls from which this object may be downloaded",
        "type": "array",
        "items": {
          "type": "string",
          "format": "uri"
        }
      },
      "annotations": {
        "$ref": "defs.json#/definitions/mapStringString"
      }
    }
  },
  'content-descriptor.json': {
    "description": "OpenContainer Content Descriptor Specification",
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "https://opencontainers.org/schema/descriptor",
    "type": "object",
    "properties": {
      "mediaType": {
        "description": "the mediatype of the referenced object",
        "$ref": "defs-descriptor.json#/definitions/mediaType"
      },
      "size": {
        "description": "the size in bytes of the referenced object",
        "$ref": "defs-descriptor.json#/definitions/size"
      },
      "digest": {
        "description": "the cryptographic checksum digest of the object, in the pattern '<algorithm>:<encoded>'",
        "$ref": "defs-descriptor.json#/definitions/digest"
      },
      "urls": {
        "description": "a list of urls from which this object may be downloaded",
        "$ref": "defs-descriptor.json#/definitions/urls"
      },
      "data": {
        "description": "an embedding of the targeted content (base64 encoded)",
        "$ref": "defs.json#/definitions/base64"
      },
      "artifactType": {
        "description": "the IANA media type of this artifact",
        "$ref": "defs-descriptor.json#/definitions/mediaType"
      },
      "annotations": {
        "id": "https://opencontainers.org/schema/descriptor/annotations",
        "$ref": "defs-descriptor.json#/definitions/annotations"
      }
    },
    "required": [
      "mediaType",
      "size",
      "digest"
    ]
  },
  'image-manifest-schema.json': {
    "description": "OpenContainer Image Manifest Specification",
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "https://opencontainers.org/schema/image/manifest",
    "type": "object",
    "properties": {
      "schemaVersion": {
        "description": "This field specifies the image manifest schema version as an integer",
        "id": "https://opencontainers.org/schema/image/manifest/schemaVersion",
        "type": "integer",
        "minimum": 2,
        "maximum": 2
      },
      "mediaType": {
        "description": "the mediatype of the referenced object",
        "$ref": "defs-descriptor.json#/definitions/mediaType"
      },
      "artifactType": {
        "description": "the artifact mediatype of the referenced object",
        "$ref": "defs-descriptor.json#/definitions/mediaType"
      },
      "config": {
        "$ref": "content-descriptor.json"
      },
      "subject": {
        "$ref": "content-descriptor.json"
      },
      "layers": {
        "type": "array",
        "minItems": 1,
        "items": {
          "$ref": "content-descriptor.json"
        }
      },
      "annotations": {
        "id": "https://opencontainers.org/schema/image/manifest/annotations",
        "$ref": "defs-descriptor.json#/definitions/annotations"
      }
    },
    "required": [
      "schemaVersion",
      "config",
      "layers"
    ]
  },
  'image-index-schema.json': {
    "description": "OpenContainer Image Index Specification",
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "https://opencontainers.org/schema/image/index",
    "type": "object",
    "properties": {
      "schemaVersion": {
        "description": "This field specifies the image index schema version as an integer",
        "id": "https://opencontainers.org/schema/image/index/schemaVersion",
        "type": "integer",
        "minimum": 2,
        "maximum": 2
      },
      "mediaType": {
        "description": "the mediatype of the referenced object",
        "$ref": "defs-descriptor.json#/definitions/mediaType"
      },
      "artifactType": {
        "description": "the artifact mediatype of the referenced object",
        "$ref": "defs-descriptor.json#/definitions/mediaType"
      },
      "subject": {
        "$ref": "content-descriptor.json"
      },
      "manifests": {
        "type": "array",
        "items": {
          "id": "https://opencontainers.org/schema/image/manifestDescriptor",
          "type": "object",
          "required": [
            "mediaType",
            "size",
            "digest"
          ],
          "properties": {
            "mediaType": {
              "description": "the mediatype of the referenced object",
              "$ref": "defs-descriptor.json#/definitions/mediaType"
            },
            "size": {
              "description": "the size in bytes of the referenced object",
              "$ref": "defs.json#/definitions/int64"
            },
            "digest": {
              "description": "the cryptographic checksum digest of the object, in the pattern '<algorithm>:<encoded>'",
              "$ref": "defs-descriptor.json#/definitions/digest"
            },
            "urls": {
              "description": "a list of urls from which this object may be downloaded",
              "$ref": "defs-descriptor.json#/definitions/urls"
            },
            "platform": {
              "id": "https://opencontainers.org/schema/image/platform",
              "type": "object",
              "required": [
                "architecture",
                "os"
              ],
              "properties": {
                "architecture": {
                  "id": "https://opencontainers.org/schema/image/platform/architecture",
                  "type": "string"
                },
                "os": {
                  "id": "https://opencontainers.org/schema/image/platform/os",
                  "type": "string"
                },
                "os.version": {
                  "id": "https://opencontainers.org/schema/image/platform/os.version",
                  "type": "string"
                },
                "os.features": {
                  "id": "https://opencontainers.org/schema/image/platform/os.features",
                  "type": "array",
                  "items": {
                    "type": "string"
                  }
                },
                "variant": {
                  "type": "string"
                }
              }
            },
            "annotations": {
              "id": "https://opencontainers.org/schema/image/descriptor/annotations",
              "$ref": "defs-descriptor.json#/definitions/annotations"
            }
          }
        }
      },
      "annotations": {
        "id": "https://opencontainers.org/schema/image/index/annotations",
        "$ref": "defs-descriptor.json#/definitions/annotations"
      }
    },
    "required": [
      "schemaVersion",
      "manifests"
    ]
  },
  'config-schema.json': {
    "description": "OpenContainer Config Specification",
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "https://opencontainers.org/schema/image/config",
    "type": "object",
    "properties": {
      "created": {
        "type": "string",
        "format": "date-time"
      },
      "author": {
        "type": "string"
      },
      "architecture": {
        "type": "string"
      },
      "variant": {
        "type": "string"
      },
      "os": {
        "type": "string"
      },
      "os.version": {
        "type": "string"
      },
      "os.features": {
        "type": "array",
        "items": {
          "type": "string"
        }
      },
      "config": {
        "type": "object",
        "properties": {
          "User": {
            "type": "string"
          },
          "ExposedPorts": {
            "$ref": "defs.json#/definitions/mapStringObject"
          },
          "Env": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "Entrypoint": {
            "oneOf": [
              {
                "type": "array",
                "items": {
                  "type": "string"
                }
              },
              {
                "type": "null"
              }
            ]
          },
          "Cmd": {
            "oneOf": [
              {
                "type": "array",
                "items": {
                  "type": "string"
                }
              },
              {
                "type": "null"
              }
            ]
          },
          "Volumes": {
            "oneOf": [
              {
                "$ref": "defs.json#/definitions/mapStringObject"
              },
              {
                "type": "null"
              }
            ]
          },
          "WorkingDir": {
            "type": "string"
          },
          "Labels": {
            "oneOf": [
              {
                "$ref": "defs.json#/definitions/mapStringString"
              },
              {
                "type": "null"
              }
            ]
          },
          "StopSignal": {
            "type": "string"
          },
          "ArgsEscaped": {
            "type": "boolean"
          }
        }
      },
      "rootfs": {
        "type": "object",
        "properties": {
          "diff_ids": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "type": {
            "type": "string",
            "enum": [
              "layers"
            ]
          }
        },
        "required": [
          "diff_ids",
          "type"
        ]
      },
      "history": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "created": {
              "type": "string",
              "format": "date-time"
            },
            "author": {
              "type": "string"
            },
            "created_by": {
              "type": "string"
            },
            "comment": {
              "type": "string"
            },
            "empty_layer": {
              "type": "boolean"
            }
          }
        }
      }
    },
    "required": [
      "architecture",
      "os",
      "rootfs"
    ]
  },
  'image-layout-schema.json': {
    "description": "OpenContainer Image Layout Schema",
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "https://opencontainers.org/schema/image/layout",
    "type": "object",
    "properties": {
      "imageLayoutVersion": {
        "description": "version of the OCI Image Layout (in the oci-layout file)",
        "type": "string",
        "enum": [
          "1.0.0"
        ]
      }
    },
    "required": [
      "imageLayoutVersion"
    ]
  },
};
