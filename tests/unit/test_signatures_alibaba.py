# ruff: noqa: E501  (the wire captures below are kept verbatim, long lines included)
"""Alibaba ACS3-HMAC-SHA256 and RPC v1 verifiers against the captures in
shared/spec/alibaba.md §9 (secret ``testSecret``), the spec's worked examples,
every failure code of §3.3, and requests signed live by the official SDK.
"""

from __future__ import annotations

import calendar
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from cdnctl.auth.signatures import (
    NonceCache,
    SecretLookup,
    SignatureError,
    SignedRequest,
    detect_alibaba,
    rpc_params,
    verify_acs3,
    verify_alibaba,
    verify_rpc_v1,
)
from cdnctl.auth.signatures.alibaba import rpc_string_to_sign

SECRETS = {"testAK": "testSecret"}
lookup = SECRETS.get
NO_KEYS: dict[str, str] = {}

CAPTURES: dict[str, str] = {
    "acs3-RefreshObjectCaches": """\
POST / HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2018-05-10
x-acs-action: RefreshObjectCaches
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:24Z
x-acs-signature-nonce: b4163bec717cc4dbfa3da54784a488fe
accept: application/json
content-type: application/x-www-form-urlencoded
x-acs-content-sha256: bf5aac0705b55d87e5ae37d8a6d2eb1bc74047fb3d9f69bbb1b6d6a7014c8911
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=ba92a6eb927ac3a61b9c38e8e55cbbe5b6d430513d5255d5d69e5a93c4f376f2
Content-Length: 126

Force=True&ObjectPath=http%3A%2F%2Fexample.com%2Fa+b.txt%0Ahttp%3A%2F%2Fexample.com%2Fdir%2F~x%3Fy%3D1%26z%3D2&ObjectType=File
""",
    "acs3-PushObjectCache": """\
POST /?Area=domestic&L2Preload=True&ObjectPath=example.com%2Fa.txt%0D%0Aexample.com%2Fb.txt&QueryHashkey=False&WithHeader=%7B%22Accept-Encoding%22%3A%5B%22gzip%22%5D%7D HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2018-05-10
x-acs-action: PushObjectCache
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:24Z
x-acs-signature-nonce: 3e4af27534c2d04ebd394c9f5da68432
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=14cf5be767424a81eedd64e7c757f979935b3d1234c4873b8b12174671f98f33
Content-Length: 0

""",
    "acs3-DescribeRefreshTasks": """\
POST /?DomainName=example.com&EndTime=2024-01-02T00%3A00%3A00Z&ObjectType=file&PageNumber=1&PageSize=20&StartTime=2024-01-01T00%3A00%3A00Z&Status=Complete HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2018-05-10
x-acs-action: DescribeRefreshTasks
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:24Z
x-acs-signature-nonce: d369b43e962cc1191ce47e42b9903c94
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=1aff3a28573e19782961fa636f2a5d2843c6de98e4202cf3f1d66e0dbbc72612
Content-Length: 0

""",
    "acs3-DescribeRefreshTaskById": """\
POST /?TaskId=1%2C2 HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2018-05-10
x-acs-action: DescribeRefreshTaskById
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:24Z
x-acs-signature-nonce: 774d0ed9d466051b6e5d7e02af443a23
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=8c356a89b9c9aa985513b9d01569db1d140fb6f90e05ac65f47d548bc52f38b7
Content-Length: 0

""",
    "acs3-DescribeRefreshQuota": """\
POST / HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2018-05-10
x-acs-action: DescribeRefreshQuota
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:24Z
x-acs-signature-nonce: 47439460af9ce7afce3c873a72f7e7b0
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=eb5f234d93741da83ebc5598b7ec581667ab24b9d6cb47b7cb4ac0e460136187
Content-Length: 0

""",
    "acs3-PurgeCaches-file": """\
POST /?Content=%7B%22CacheKeys%22%3A%5B%5D%2C%22Files%22%3A%5B%22http%3A%2F%2Fa.com%2F1.jpg%22%2C%7B%22Url%22%3A%22http%3A%2F%2Fa.com%2F2.jpg%22%2C%22Headers%22%3A%7B%22UserGeo%22%3A%22CN%22%7D%7D%5D%7D&EdgeComputePurge=False&Force=True&SiteId=123456789&Type=file HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: PurgeCaches
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:24Z
x-acs-signature-nonce: aed8e0fc2a32286d2b5bad10f203f69a
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=fc482afa686d869734803fb1c42de1a1f0ae3ce065ff42c2ea0ec0891e412e59
Content-Length: 0

""",
    "acs3-PurgeCaches-cachekey": """\
POST /?Content=%7B%22CacheKeys%22%3A%5B%7B%22Headers%22%3A%7B%22UserDeviceType%22%3A%22mobile%22%7D%2C%22Url%22%3A%22http%3A%2F%2Fa.com%2Fx%22%7D%5D%7D&SiteId=1&Type=cachekey HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: PurgeCaches
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:25Z
x-acs-signature-nonce: 8f1727a7488b1494b7c5738e23559017
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=e90b065d5ab40790a85bc3cbe7a1f2d3e19f552f903b3490ddcd3e92c928c974
Content-Length: 0

""",
    "acs3-PreloadCaches": """\
POST /?Content=%5B%22http%3A%2F%2Fa.com%2F1.jpg%22%5D&Headers=%7B%22Accept-Encoding%22%3A%22gzip%22%7D&SiteId=1 HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: PreloadCaches
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:25Z
x-acs-signature-nonce: 85ba6259c992654ac1df4e85b9ab329d
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=b38206381a11787a772f0f7628e8396817947a1a382fd2da1209227f09228f9c
Content-Length: 0

""",
    "acs3-BlockObject": """\
POST /?Content=%5B%22http%3A%2F%2Fa.com%2Fbad.jpg%22%5D&Maxage=3600&SiteId=1&Type=block HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: BlockObject
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:25Z
x-acs-signature-nonce: 12d955761c087ae0a9d6dd829bf5e2eb
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=b6a4e97af4bd1b8ecf480747a2055664b3209c294555e94b4441c34a898d9943
Content-Length: 0

""",
    "acs3-DescribePurgeTasks": """\
GET /?Content=http%3A%2F%2Fa.com%2F1.jpg&EndTime=2024-01-02T00%3A00%3A00Z&PageNumber=1&PageSize=20&SiteId=1&StartTime=2024-01-01T00%3A00%3A00Z&Status=Complete&Type=file HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: DescribePurgeTasks
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:25Z
x-acs-signature-nonce: 4b67dbdccb7891415873fd8186c73677
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=16963e8bb5763b6e401a278a7d0c7f94723082f477793d57421745ea737e3170

""",
    "acs3-GetPurgeQuota": """\
POST /?SiteId=1&Type=file HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: GetPurgeQuota
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:25Z
x-acs-signature-nonce: 7e2b49a0cb3fb833bddf7951d66ef99b
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=1cd8d2c96ff0b4a02056fffa2988ed2ec9e11f53d72ab3c576c5547b2dc3360b
Content-Length: 0

""",
    "acs3-ListUploadTasks": """\
GET /?EndTime=2024-01-02T00%3A00%3A00Z&SiteId=1&StartTime=2024-01-01T00%3A00%3A00Z&Type=file HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: ListUploadTasks
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:25Z
x-acs-signature-nonce: 07055ddfb2e4218c41fb98354c218eed
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=8274a8f0aa8cfd80a2e961526770b42212d84cc4786df15b97e0e4289cab9189

""",
    "acs3-UploadFile": """\
POST /?SiteId=1&Type=file&UploadTaskName=t1&Url=https%3A%2F%2Fbucket.oss-cn-hangzhou.aliyuncs.com%2Furls.txt%3FExpires%3D1%26Signature%3Dx HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: UploadFile
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:44:25Z
x-acs-signature-nonce: 8b5b8f2ad389927d93cc6a02d4666611
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=bb55dc8a1e5cf849f1178a53bc99465d7664a19bf30893b7b1d50af378a47755
Content-Length: 0

""",
    "v2-RefreshObjectCaches": """\
POST /?Action=RefreshObjectCaches&Format=json&Version=2018-05-10&Timestamp=2026-11-22T21%3A44%3A33Z&SignatureNonce=3f64c163629fea8f9760838a746bad6a&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAK&Signature=1%2Bg28ZpGzZi5qk4LBPI4t7xz3fI%3D HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2018-05-10
x-acs-action: RefreshObjectCaches
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
content-type: application/x-www-form-urlencoded
x-acs-credentials-provider: static_ak
Content-Length: 126

Force=True&ObjectPath=http%3A%2F%2Fexample.com%2Fa+b.txt%0Ahttp%3A%2F%2Fexample.com%2Fdir%2F~x%3Fy%3D1%26z%3D2&ObjectType=File
""",
    "v2-PurgeCaches": """\
POST /?Action=PurgeCaches&Format=json&Version=2024-09-10&Timestamp=2026-11-22T21%3A44%3A33Z&SignatureNonce=3af084f62cc5e5970ff2805118ae7ccf&Content=%7B%22CacheKeys%22%3A%5B%5D%2C%22Files%22%3A%5B%22http%3A%2F%2Fa.com%2F1.jpg%22%2C%7B%22Url%22%3A%22http%3A%2F%2Fa.com%2F2.jpg%22%2C%22Headers%22%3A%7B%22UserGeo%22%3A%22CN%22%7D%7D%5D%7D&EdgeComputePurge=False&Force=True&SiteId=123456789&Type=file&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAK&Signature=wK9RT188GBE8mhBiavkAr1R2ZXE%3D HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: PurgeCaches
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-credentials-provider: static_ak
Content-Length: 0

""",
    "v2-DescribePurgeTasks": """\
GET /?Action=DescribePurgeTasks&Format=json&Version=2024-09-10&Timestamp=2026-11-22T21%3A44%3A33Z&SignatureNonce=fe77221156425f843b0f1d3ffe08ddad&Content=http%3A%2F%2Fa.com%2F1.jpg&EndTime=2024-01-02T00%3A00%3A00Z&PageNumber=1&PageSize=20&SiteId=1&StartTime=2024-01-01T00%3A00%3A00Z&Status=Complete&Type=file&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAK&Signature=k27SMgJSO5ry1wNqBFEC%2BoATGJM%3D HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: DescribePurgeTasks
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-credentials-provider: static_ak

""",
    "legacy-RefreshObjectCaches": """\
POST /?ObjectPath=http%3A%2F%2Fexample.com%2Fa%20b.txt%0Ahttp%3A%2F%2Fexample.com%2Fb.txt&ObjectType=File&Version=2018-05-10&Action=RefreshObjectCaches&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-22T21%3A44%3A45Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=d9619d76c3eed3a89eb019b5df8eae21&AccessKeyId=testAK&Signature=rFijaLWq3RMSBnDSsv%2BZM9o%2B7M0%3D HTTP/1.1
Host: 127.0.0.1:28931
User-Agent: AlibabaCloud (Linux 6.18.44-fc-v657;x86_64) Python/3.11.7 Core/2.16.1 python-requests/2.18.3
Accept-Encoding: identity
Accept: */*
Connection: keep-alive
x-acs-action: RefreshObjectCaches
x-acs-version: 2018-05-10
x-sdk-invoke-type: normal
x-sdk-client: python/2.0.0
Content-Length: 0

""",
    "legacy-PushObjectCache": """\
POST /?ObjectPath=example.com%2Fa.txt&Area=domestic&L2Preload=True&Version=2018-05-10&Action=PushObjectCache&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-22T21%3A44%3A45Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=80f14108917089a37fd2ed0c9c7a9d0b&AccessKeyId=testAK&Signature=gAfUjYFqKMgMLrhIwLXKmhVSsnM%3D HTTP/1.1
Host: 127.0.0.1:28931
User-Agent: AlibabaCloud (Linux 6.18.44-fc-v657;x86_64) Python/3.11.7 Core/2.16.1 python-requests/2.18.3
Accept-Encoding: identity
Accept: */*
Connection: keep-alive
x-acs-action: PushObjectCache
x-acs-version: 2018-05-10
x-sdk-invoke-type: normal
x-sdk-client: python/2.0.0
Content-Length: 0

""",
    "legacy-DescribeRefreshQuota": """\
POST /?Version=2018-05-10&Action=DescribeRefreshQuota&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-22T21%3A44%3A45Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=df2d9687c33fc41ddfd14cce670bcf08&AccessKeyId=testAK&Signature=xzavw%2Fc7xpQF29ruUcdrxG%2Fx9OA%3D HTTP/1.1
Host: 127.0.0.1:28931
User-Agent: AlibabaCloud (Linux 6.18.44-fc-v657;x86_64) Python/3.11.7 Core/2.16.1 python-requests/2.18.3
Accept-Encoding: identity
Accept: */*
Connection: keep-alive
x-acs-action: DescribeRefreshQuota
x-acs-version: 2018-05-10
x-sdk-invoke-type: normal
x-sdk-client: python/2.0.0
Content-Length: 0

""",
    "acs3-AuthorizeFileUpload": """\
GET /?Product=ESA HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2019-12-19
x-acs-action: AuthorizeFileUpload
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:51:39Z
x-acs-signature-nonce: d3f42b1a4d1c98086e7cfd6ed3fd01c4
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=19f8b3b6e3be473951eb42333b0c826a78fa2c06517dbb5785a3bcc1e741d150
""",
    "acs3-UploadFile-transit": """\
POST /?SiteId=1&Type=file&UploadTaskName=t1&Url=http%3A%2F%2F127.0.0.1%3A18443%2Fesa%2Fupload%2Fabc.txt HTTP/1.1
Accept-Encoding: identity
host: 127.0.0.1:28931
x-acs-version: 2024-09-10
x-acs-action: UploadFile
user-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-date: 2026-11-22T21:51:39Z
x-acs-signature-nonce: 46d052299a7d750489687a2ad3731beb
accept: application/json
x-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider: static_ak
Authorization: ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=33f3a282731829042662facfefb1cbf43c3c05b7026f50d39e75e70ff36ade09
Content-Length: 0
""",
}

ACS3_IDS = [k for k in CAPTURES if k.startswith("acs3-")]
RPC_IDS = [k for k in CAPTURES if not k.startswith("acs3-")]


def parse_capture(raw: str) -> SignedRequest:
    head, _, body = raw.partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, target = request_line.split(" ")[:2]
    headers = [(n, v) for n, _, v in (line.partition(": ") for line in header_lines)]
    req = SignedRequest.create(method, target, headers=headers, body=body.rstrip("\n").encode())
    declared = req.header("content-length")
    if declared is not None:  # guards the transcription of the body
        assert int(declared) == len(req.body)
    return req


def capture_time(req: SignedRequest) -> float:
    stamp = req.header("x-acs-date") or rpc_params(req)["Timestamp"]
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


def capture(name: str) -> tuple[SignedRequest, float]:
    req = parse_capture(CAPTURES[name])
    return req, capture_time(req) + 30


def replace_header(req: SignedRequest, name: str, value: str | None) -> SignedRequest:
    headers = {k: v for k, v in req.headers.items() if k != name}
    if value is not None:
        headers[name] = value
    return SignedRequest.create(req.method, req.path, req.raw_query, headers, req.body)


def with_query(req: SignedRequest, raw_query: str) -> SignedRequest:
    return SignedRequest.create(req.method, req.path, raw_query, req.headers, req.body)


def with_body(req: SignedRequest, body: bytes) -> SignedRequest:
    return SignedRequest.create(req.method, req.path, req.raw_query, req.headers, body)


def error_of(
    req: SignedRequest,
    now: float,
    *,
    lookup: SecretLookup = lookup,
    nonces: NonceCache | None = None,
) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        verify_alibaba(req, lookup, now=now, nonces=nonces or NonceCache())
    return info.value


# --- every capture verifies -------------------------------------------------------------


@pytest.mark.parametrize("name", list(CAPTURES))
def test_capture_verifies(name: str) -> None:
    req, now = capture(name)
    assert detect_alibaba(req) == ("acs3" if name.startswith("acs3-") else "rpc_v1")
    assert verify_alibaba(req, lookup, now=now, nonces=NonceCache()) == "testAK"


@pytest.mark.parametrize("name", ACS3_IDS)
def test_acs3_capture_via_direct_call(name: str) -> None:
    req, now = capture(name)
    assert verify_acs3(req, lookup, now=now, nonces=None) == "testAK"


@pytest.mark.parametrize("name", RPC_IDS)
def test_rpc_capture_via_direct_call(name: str) -> None:
    req, now = capture(name)
    params = rpc_params(req)
    assert verify_rpc_v1(params, req.method, lookup, now=now, nonces=None) == "testAK"


def test_acs3_worked_example_string_to_sign() -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    err = error_of(req, now, lookup={"testAK": "wrong"}.get)
    assert err.code == "SignatureDoesNotMatch"
    assert err.message.endswith(
        "server string to sign is:ACS3-HMAC-SHA256\n"
        "daea0f19cbaa0cce383a77cb0a02c5e06b2c84cb0ba3792e483e6356249bf9b3"
    )


def test_rpc_worked_example_string_to_sign() -> None:
    req, _ = capture("legacy-DescribeRefreshQuota")
    params = rpc_params(req)
    assert rpc_string_to_sign(params, "POST") == (
        "POST&%2F&AccessKeyId%3DtestAK%26Action%3DDescribeRefreshQuota%26Format%3DJSON"
        "%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce"
        "%3Ddf2d9687c33fc41ddfd14cce670bcf08%26SignatureType%3D%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2026-11-22T21%253A44%253A45Z%26Version%3D2018-05-10"
    )
    assert params["Signature"] == "xzavw/c7xpQF29ruUcdrxG/x9OA="


def test_rpc_mismatch_message_satisfies_legacy_sdk_split() -> None:
    req, now = capture("legacy-DescribeRefreshQuota")
    err = error_of(req, now, lookup={"testAK": "wrong"}.get)
    assert (err.code, err.http_status) == ("SignatureDoesNotMatch", 400)
    assert err.message.startswith("Specified signature is not matched with our calculation.")
    # aliyunsdkcore compares Message.split(':')[1] with its own string to sign.
    assert err.message.split(":")[1] == rpc_string_to_sign(rpc_params(req), "POST")


# --- ACS3 failures ----------------------------------------------------------------------


def test_acs3_tampered_body() -> None:
    req, now = capture("acs3-RefreshObjectCaches")
    tampered = with_body(req, req.body.replace(b"Force=True", b"Force=False"))
    assert error_of(tampered, now).code == "SignatureDoesNotMatch"


def test_acs3_tampered_query() -> None:
    req, now = capture("acs3-PushObjectCache")
    tampered = with_query(req, req.raw_query.replace("Area=domestic", "Area=overseas"))
    err = error_of(tampered, now)
    assert (err.code, err.http_status) == ("SignatureDoesNotMatch", 400)


def test_acs3_added_query_parameter() -> None:
    req, now = capture("acs3-GetPurgeQuota")
    assert (
        error_of(with_query(req, req.raw_query + "&Extra=1"), now).code == "SignatureDoesNotMatch"
    )


@pytest.mark.parametrize(
    ("header", "value"),
    [("x-acs-action", "PurgeCaches"), ("host", "127.0.0.1:28932"), ("user-agent", "curl/8")],
)
def test_acs3_tampered_signed_header(header: str, value: str) -> None:
    req, now = capture("acs3-DescribeRefreshTasks")
    assert error_of(replace_header(req, header, value), now).code == "SignatureDoesNotMatch"


def test_acs3_unsigned_headers_may_change() -> None:
    req, now = capture("acs3-DescribeRefreshTasks")
    req = replace_header(req, "accept-encoding", "gzip")
    assert verify_acs3(req, lookup, now=now, nonces=NonceCache()) == "testAK"


def test_acs3_content_hash_header_must_match_body() -> None:
    req, now = capture("acs3-GetPurgeQuota")
    assert error_of(with_body(req, b"x=1"), now).code == "SignatureDoesNotMatch"


def test_acs3_wrong_secret() -> None:
    req, now = capture("acs3-PurgeCaches-file")
    err = error_of(req, now, lookup={"testAK": "otherSecret"}.get)
    assert err.code == "SignatureDoesNotMatch"
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in err.message


def test_acs3_unknown_access_key() -> None:
    req, now = capture("acs3-PurgeCaches-file")
    err = error_of(req, now, lookup=NO_KEYS.get)
    assert (err.code, err.message, err.http_status) == (
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
        404,
    )


@pytest.mark.parametrize("offset", [901, -901, 3600])
def test_acs3_expired_timestamp(offset: int) -> None:
    req, _ = capture("acs3-BlockObject")
    err = error_of(req, capture_time(req) + offset)
    assert (err.code, err.message, err.http_status) == (
        "InvalidTimeStamp.Expired",
        "Specified time stamp or date value is expired.",
        400,
    )


@pytest.mark.parametrize("offset", [900, -900, 0])
def test_acs3_skew_window_edges_accepted(offset: int) -> None:
    req, _ = capture("acs3-BlockObject")
    assert verify_acs3(req, lookup, now=capture_time(req) + offset, nonces=None) == "testAK"


def test_acs3_custom_skew() -> None:
    req, _ = capture("acs3-BlockObject")
    with pytest.raises(SignatureError, match="expired"):
        verify_acs3(req, lookup, now=capture_time(req) + 61, nonces=None, skew=60)


@pytest.mark.parametrize(
    "value", ["2026-11-22 21:44:25", "1795383865", "2026-11-22T21:44:25+08:00"]
)
def test_acs3_badly_formatted_date(value: str) -> None:
    req, now = capture("acs3-BlockObject")
    err = error_of(replace_header(req, "x-acs-date", value), now)
    assert (err.code, err.http_status) == ("InvalidTimeStamp.Format", 400)
    assert err.message == "Specified time stamp or date value is not well formatted."


def test_acs3_replayed_nonce() -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    nonces = NonceCache()
    assert verify_acs3(req, lookup, now=now, nonces=nonces) == "testAK"
    err = error_of(req, now + 5, nonces=nonces)
    assert (err.code, err.message, err.http_status) == (
        "SignatureNonceUsed",
        "Specified signature nonce was used already.",
        400,
    )


def test_acs3_forged_request_does_not_burn_the_nonce() -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    nonces = NonceCache()
    forged = replace_header(req, "x-acs-action", "PurgeCaches")
    assert error_of(forged, now, nonces=nonces).code == "SignatureDoesNotMatch"
    assert verify_acs3(req, lookup, now=now, nonces=nonces) == "testAK"


@pytest.mark.parametrize(
    "authorization",
    [
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 Credential=testAK,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=host,Signature=",
        "ACS3-HMAC-SHA256 Credential=testAK;SignedHeaders=host;Signature=ab",
        "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=host;;accept,Signature=ab",
        "Bearer abc",
        "",
    ],
)
def test_acs3_garbled_authorization(authorization: str) -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    err = error_of(replace_header(req, "authorization", authorization), now)
    assert (err.code, err.http_status) == ("IncompleteSignature", 400)
    assert err.message.startswith("The request signature does not conform to Aliyun standards.")


@pytest.mark.parametrize("algorithm", ["ACS3-HMAC-SM3", "ACS3-RSA-SHA256"])
def test_acs3_other_algorithms_are_not_offered(algorithm: str) -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    auth = req.headers["authorization"].replace("ACS3-HMAC-SHA256", algorithm)
    err = error_of(replace_header(req, "authorization", auth), now)
    assert (err.code, err.message) == (
        "InvalidSignatureMethod",
        "Specified signature method is not valid.",
    )


def test_acs3_unsigned_acs_header_is_rejected() -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    err = error_of(replace_header(req, "x-acs-security-token", "sts"), now)
    assert err.code == "IncompleteSignature"
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in err.message


def test_acs3_host_must_be_signed() -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    auth = req.headers["authorization"].replace(
        "SignedHeaders=accept;host;", "SignedHeaders=accept;"
    )
    assert error_of(replace_header(req, "authorization", auth), now).code == "IncompleteSignature"


@pytest.mark.parametrize("header", ["x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"])
def test_acs3_required_header_missing(header: str) -> None:
    req, now = capture("acs3-DescribeRefreshQuota")
    assert error_of(replace_header(req, header, None), now).code == "IncompleteSignature"


def test_no_signature_at_all() -> None:
    req = SignedRequest.create("POST", "/?SiteId=1", headers={"host": "h"})
    assert detect_alibaba(req) is None
    err = error_of(req, 0.0)
    assert (err.code, err.message, err.http_status) == (
        "MissingSignature",
        "Signature is mandatory for this action.",
        400,
    )


# --- RPC v1 failures --------------------------------------------------------------------


def test_rpc_tampered_query() -> None:
    req, now = capture("legacy-RefreshObjectCaches")
    tampered = with_query(req, req.raw_query.replace("ObjectType=File", "ObjectType=Directory"))
    assert error_of(tampered, now).code == "SignatureDoesNotMatch"


def test_rpc_tampered_form_body() -> None:
    req, now = capture("v2-RefreshObjectCaches")
    tampered = with_body(req, req.body.replace(b"Force=True", b"Force=False"))
    assert error_of(tampered, now).code == "SignatureDoesNotMatch"


def test_rpc_body_parameters_are_signed_with_the_query() -> None:
    req, now = capture("v2-RefreshObjectCaches")
    params = dict(req.query)  # without the form body the signature cannot match
    with pytest.raises(SignatureError, match="not matched"):
        verify_rpc_v1(params, req.method, lookup, now=now, nonces=None)


def test_rpc_method_is_signed() -> None:
    req, now = capture("v2-DescribePurgeTasks")
    with pytest.raises(SignatureError) as info:
        verify_rpc_v1(rpc_params(req), "POST", lookup, now=now, nonces=None)
    assert info.value.code == "SignatureDoesNotMatch"


def test_rpc_wrong_secret_and_unknown_key() -> None:
    req, now = capture("v2-PurgeCaches")
    assert error_of(req, now, lookup={"testAK": "x"}.get).code == "SignatureDoesNotMatch"
    err = error_of(req, now, lookup={"otherAK": "testSecret"}.get)
    assert (err.code, err.http_status) == ("InvalidAccessKeyId.NotFound", 404)


@pytest.mark.parametrize("offset", [901, -901])
def test_rpc_expired_timestamp(offset: int) -> None:
    req, _ = capture("legacy-PushObjectCache")
    assert error_of(req, capture_time(req) + offset).code == "InvalidTimeStamp.Expired"


def test_rpc_badly_formatted_timestamp() -> None:
    req, now = capture("legacy-PushObjectCache")
    tampered = with_query(req, req.raw_query.replace("T21%3A44%3A45Z", "%2021%3A44%3A45"))
    assert error_of(tampered, now).code == "InvalidTimeStamp.Format"


def test_rpc_replayed_nonce() -> None:
    req, now = capture("legacy-PushObjectCache")
    nonces = NonceCache()
    assert verify_alibaba(req, lookup, now=now, nonces=nonces) == "testAK"
    assert error_of(req, now, nonces=nonces).code == "SignatureNonceUsed"


def test_nonces_are_scoped_per_access_key() -> None:
    nonces = NonceCache()
    assert not nonces.seen("a", "n1", 0.0)
    assert not nonces.seen("b", "n1", 0.0)
    assert nonces.seen("a", "n1", 1.0)


@pytest.mark.parametrize(
    "param", ["Signature", "AccessKeyId", "Timestamp", "SignatureNonce", "SignatureVersion"]
)
def test_rpc_missing_parameter(param: str) -> None:
    req, now = capture("legacy-DescribeRefreshQuota")
    params = {k: v for k, v in rpc_params(req).items() if k != param}
    with pytest.raises(SignatureError) as info:
        verify_rpc_v1(params, "POST", lookup, now=now, nonces=None)
    assert (info.value.code, info.value.message, info.value.http_status) == (
        f"Missing{param}",
        f"{param} is mandatory for this action.",
        400,
    )


def test_rpc_bad_signature_method_and_version() -> None:
    req, now = capture("legacy-DescribeRefreshQuota")
    params = rpc_params(req)
    with pytest.raises(SignatureError) as info:
        verify_rpc_v1(
            {**params, "SignatureMethod": "HMAC-SHA256"}, "POST", lookup, now=now, nonces=None
        )
    assert info.value.code == "InvalidSignatureMethod"
    with pytest.raises(SignatureError) as info:
        verify_rpc_v1({**params, "SignatureVersion": "2.0"}, "POST", lookup, now=now, nonces=None)
    assert (info.value.code, info.value.message) == (
        "InvalidSignatureVersion",
        "Specified parameter SignatureVersion is not valid.",
    )


# --- building blocks --------------------------------------------------------------------


def test_signed_request_normalises_parts() -> None:
    req = SignedRequest.create(
        "post", "/a%20b?x=1+2&y=&z=%2B", headers=[("X-A", "1"), ("x-a", "2")]
    )
    assert (req.method, req.path, req.raw_query) == ("POST", "/a%20b", "x=1+2&y=&z=%2B")
    assert req.query == [("x", "1 2"), ("y", ""), ("z", "+")]
    assert req.header("X-A") == "1,2"
    assert req.form() == []


def test_nonce_cache_expires_entries() -> None:
    nonces = NonceCache(ttl=10)
    assert not nonces.seen("k", "n", 100.0)
    assert nonces.seen("k", "n", 109.0)
    assert not nonces.seen("k", "n", 111.0)  # forgotten after ttl, remembered again
    assert len(nonces) == 1


def test_nonce_cache_is_bounded() -> None:
    nonces = NonceCache(ttl=1000, max_entries=3)
    for i in range(5):
        assert not nonces.seen("k", str(i), float(i))
    assert len(nonces) == 3
    assert not nonces.seen("k", "0", 6.0)  # the oldest were dropped
    assert nonces.seen("k", "4", 6.0)


def test_nonce_cache_rejects_bad_limits() -> None:
    with pytest.raises(ValueError, match="positive"):
        NonceCache(ttl=0)


def test_nonce_cache_is_atomic_under_threads() -> None:
    nonces = NonceCache()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(nonces.seen("k", "same", 1.0))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] + [True] * 7


# --- requests signed live by the official SDK (alibabacloud-tea-openapi) -----------------


@pytest.fixture
def sdk_wire(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Let the real SDK build and sign requests; capture them instead of sending."""
    pytest.importorskip("alibabacloud_tea_openapi")
    requests = pytest.importorskip("requests")
    sent: list[Any] = []

    def fake_send(self: object, prepared: Any, **kwargs: object) -> Any:
        sent.append(prepared)
        resp = requests.Response()
        resp.status_code, resp.reason = 200, "OK"
        resp.headers["Content-Type"] = "application/json;charset=utf-8"
        resp._content = b'{"RequestId":"0AEDAF20-4DDF-4165-8750-47FF9C1929C9"}'
        return resp

    monkeypatch.setattr(requests.Session, "send", fake_send)
    return sent


def from_prepared(prepared: Any) -> SignedRequest:
    """A ``requests.PreparedRequest`` as a server would receive it."""
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    body = body.encode("utf-8") if isinstance(body, str) else body
    return SignedRequest.create(prepared.method, url.path, url.query, dict(prepared.headers), body)


AWKWARD = "http://example.com/a b.txt\nhttp://example.com/~x*y+z%?q=1&r='\"/中文.jpg"


@pytest.mark.parametrize("algorithm", [None, "v2"])
@pytest.mark.parametrize(
    ("action", "version", "method", "body_type", "query", "body"),
    [
        (
            "RefreshObjectCaches",
            "2018-05-10",
            "POST",
            "formData",
            {"OwnerId": "1"},
            {"ObjectPath": AWKWARD, "ObjectType": "File", "Force": "True"},
        ),
        (
            "PushObjectCache",
            "2018-05-10",
            "POST",
            "formData",
            {"ObjectPath": AWKWARD, "Area": "domestic", "WithHeader": '{"A":["b c"]}'},
            None,
        ),
        (
            "PurgeCaches",
            "2024-09-10",
            "POST",
            "json",
            {"SiteId": "1", "Type": "file", "Content": '{"Files":["http://a.com/ä b?c=~*"]}'},
            None,
        ),
        (
            "DescribePurgeTasks",
            "2024-09-10",
            "GET",
            "json",
            {"SiteId": "1", "Content": AWKWARD, "PageSize": "20"},
            None,
        ),
    ],
)
def test_official_sdk_signed_requests_verify(
    sdk_wire: list[Any],
    algorithm: str | None,
    action: str,
    version: str,
    method: str,
    body_type: str,
    query: dict[str, str],
    body: dict[str, str] | None,
) -> None:
    openapi = pytest.importorskip("alibabacloud_tea_openapi.client")
    models = pytest.importorskip("alibabacloud_tea_openapi.models")
    utils_models = pytest.importorskip("alibabacloud_tea_openapi.utils_models")
    util_models = pytest.importorskip("alibabacloud_tea_util.models")

    config = models.Config(
        access_key_id="testAK",
        access_key_secret="testSecret",
        endpoint="127.0.0.1:28931",
        protocol="http",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    params = utils_models.Params(
        action=action,
        version=version,
        protocol="HTTPS",
        pathname="/",
        method=method,
        auth_type="AK",
        style="RPC",
        req_body_type=body_type,
        body_type="json",
    )
    request = utils_models.OpenApiRequest(query=query, body=body)
    openapi.Client(config).call_api(params, request, util_models.RuntimeOptions())

    req = from_prepared(sdk_wire[-1])
    assert detect_alibaba(req) == ("rpc_v1" if algorithm else "acs3")
    nonces = NonceCache()
    assert verify_alibaba(req, lookup, now=time.time(), nonces=nonces) == "testAK"
    assert error_of(req, time.time(), nonces=nonces).code == "SignatureNonceUsed"
    assert error_of(req, time.time(), lookup={"testAK": "x"}.get).code == "SignatureDoesNotMatch"
