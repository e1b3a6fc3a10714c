select
    tailnum,
    year,
    type,
    manufacturer,
    model,
    engines,
    seats,
    speed,
    engine
from {{ source('raw', 'planes') }}
