"""Pages that render thumbnails of the seeded photos, as a site's templates would: /easy/ and /sorl/."""
from django.shortcuts import render

from gallery.models import StoredFile

PHOTOS = "thumbs"  # the StoredFile rows seed_thumbs makes


def photos():
    return list(StoredFile.objects.filter(host=PHOTOS).order_by("id"))


def easy(request):
    """Each photo's "small" and "large" easy_thumbnails, by the template filter."""
    return render(request, "thumbsite/easy.html", {"photos": photos()})


def sorl(request):
    """Each photo's two sorl-thumbnail geometries, by the {% thumbnail %} tag."""
    return render(request, "thumbsite/sorl.html", {"photos": photos()})
