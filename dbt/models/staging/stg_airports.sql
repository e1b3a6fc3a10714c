select
    faa,
    name,
    lat,
    lon,
    alt,
    tz,
    dst,
    tzone
from {{ source('raw', 'airports') }}
